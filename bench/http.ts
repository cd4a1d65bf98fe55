import { Agent, request } from 'node:http';

/** An HTTP answer: its status and its body as text. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON text; sent with its length (Node would send a DELETE's body unframed otherwise). */
  readonly body?: string;
  /** Keep-alive connections: cheaper per request than `fetch`, and shared by the benchmark's load. */
  readonly agent?: Agent;
  /** Rejects when no answer came in time; none by default (a saga's answer waits for its end). */
  readonly timeoutMs?: number;
}

/** Keep-alive connections, enough for the load generator's concurrency. */
export const keepAlive = new Agent({ keepAlive: true, maxSockets: 512 });

/**
 * One request with Node's `http` (the benchmark's programs all talk through it): resolves to
 * the status and body of any answer, rejects on a network error or a timeout.
 */
export function httpRequest(url: string, options: HttpOptions = {}): Promise<Answer> {
  const { method = 'GET', body, agent = keepAlive, timeoutMs } = options;
  const headers: Record<string, string> = {
    ...(body === undefined
      ? {}
      : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(new Error('no answer in time')));
    req.end(body);
  });
}
