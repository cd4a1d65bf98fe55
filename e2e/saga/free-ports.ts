import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * `count` consecutive free ports on 127.0.0.1, so the cluster's fixed layout fits. They are
 * taken below the kernel's ephemeral range, where listeners on port 0 and outgoing connections
 * of other suites running meanwhile never land.
 */
export async function freePortRange(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  const [ephemeralLow] = (
    await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768')
  )
    .trim()
    .split(/\s+/)
    .map(Number);
  const ceiling = (ephemeralLow ?? 32_768) - count;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * (ceiling - 20_000));
    const ports = await Promise.all(Array.from({ length: count }, (_, i) => free(base + i)));
    if (ports.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}
