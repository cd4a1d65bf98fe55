import {
  countDeadLetters,
  type DeadLetter,
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  requestRedrive,
} from '@cads/consumer';
import type { Queryable } from '@cads/storage';
import { type CommandIo, exitCode, formatInstant, parseCommand } from './command-io.ts';
import { describeStaleLock } from './data-dir-lock.ts';
import { OperatorError } from './operator-error.ts';
import {
  type DatabaseLocation,
  locationUsage,
  openServiceDatabases,
  resolveDatabaseLocation,
} from './service-databases.ts';
import { isServiceName, serviceNames, type ServiceName } from './system.ts';
import { formatTable, truncate } from './text-table.ts';

export const dlqUsage = `Usage: cads dlq <action> <service> [<message id>] [options]

The dead letters of a service's consumer: messages it gave up on, with the reason, the error
and the body exactly as received.

Actions:
  list <service>                   one line per dead letter, oldest failure first
                                   [--limit <n>] (default 100) [--json]
  show <service> <message id>      one dead letter in full: body, error and stack [--json]
  redrive <service> <message id>   asks the running service to handle it again (through its
  redrive <service> --all          inbox, handler and outbox, like any delivery) and waits
                                   --wait <s> seconds (default 10, 0: do not wait) to say
                                   whether it was handled or failed again [--json]
  discard <service> <message id>   deletes a dead letter for good: it is never handled

Options:
  --consumer <name>  the consumer (default: the service's name, which every service uses)
  --json             machine-readable output
  -h, --help         this help

${locationUsage}
Services: ${serviceNames.join(', ')}

Exit codes: 0 done (a redrive still waiting for the service counts as done: the request stays
until the service picks it up), 1 not found, failed again or an error, 2 usage.
`;

const options = {
  json: { type: 'boolean' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  wait: { type: 'string' },
  consumer: { type: 'string' },
  'database-url': { type: 'string' },
  'postgres-url': { type: 'string' },
  prefix: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Action = 'list' | 'show' | 'redrive' | 'discard';
const actions: readonly Action[] = ['list', 'show', 'redrive', 'discard'];

interface Request {
  readonly action: Action;
  readonly service: ServiceName;
  readonly consumer: string;
  readonly messageId: string | undefined;
  readonly all: boolean;
  readonly json: boolean;
  readonly limit: number;
  readonly waitMs: number;
  readonly location: DatabaseLocation;
}

/** `cads dlq …`: returns the exit code. */
export async function runDlq(argv: readonly string[], io: CommandIo): Promise<number> {
  const request = parseRequest(argv, io);
  if (typeof request === 'number') return request;
  const databases = openServiceDatabases(request.location, io.cwd, {
    onStaleLock: (stale) => io.stderr(`cads dlq: ${describeStaleLock(stale)}\n`),
  });
  try {
    const db = await databases.databaseFor(request.service);
    const where = `${request.service} (${databases.describe(request.service)})`;
    switch (request.action) {
      case 'list':
        return await list(db, request, where, io);
      case 'show':
        return await show(db, request, where, io);
      case 'redrive':
        return await redrive(db, request, where, io);
      case 'discard':
        return await discard(db, request, where, io);
    }
  } catch (error) {
    const message =
      error instanceof OperatorError
        ? error.message
        : (error as { code?: unknown }).code === '42P01'
          ? `no dead-letter table in ${request.service}'s database (${databases.describe(request.service)}): has the service ever started there?`
          : undefined;
    if (message === undefined) throw error;
    io.stderr(`cads dlq: ${message}\n`);
    return exitCode.failed;
  } finally {
    await databases.close();
  }
}

function parseRequest(argv: readonly string[], io: CommandIo): Request | number {
  const parsed = parseCommand('cads dlq', dlqUsage, argv, options, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals, usage } = parsed;
  const [action, service, messageId, ...extra] = positionals;
  if (!action || !(actions as readonly string[]).includes(action)) {
    return usage(`the action is one of ${actions.join(', ')}`);
  }
  if (!service || !isServiceName(service)) {
    return usage(`${action} needs a service: ${serviceNames.join(', ')}`);
  }
  if (extra.length > 0) return usage(`unexpected arguments: ${extra.join(' ')}`);
  const all = values.all ?? false;
  if (action === 'list' && messageId !== undefined) {
    return usage('list takes no message id (see show)');
  }
  if (action === 'redrive' && all === (messageId !== undefined)) {
    return usage('redrive takes either a message id or --all');
  }
  if ((action === 'show' || action === 'discard') && messageId === undefined) {
    return usage(`${action} needs a message id (see list)`);
  }
  if (all && action !== 'redrive') return usage('--all is for redrive only');
  const limit = Number(values.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1) return usage('--limit must be a positive integer');
  const waitSeconds = Number(values.wait ?? 10);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
    return usage('--wait must be a number of seconds ≥ 0');
  }
  const resolved = resolveDatabaseLocation(
    {
      databaseUrl: values['database-url'],
      postgresUrl: values['postgres-url'],
      prefix: values.prefix,
      data: values.data,
    },
    io.env,
    { oneService: true },
  );
  if ('usage' in resolved) return usage(resolved.usage);
  return {
    action: action as Action,
    service,
    consumer: values.consumer ?? service,
    messageId,
    all,
    json: values.json ?? false,
    limit,
    waitMs: waitSeconds * 1_000,
    location: resolved.location,
  };
}

async function list(db: Queryable, request: Request, where: string, io: CommandIo) {
  const letters = await listDeadLetters(db, { consumer: request.consumer, limit: request.limit });
  if (request.json) {
    io.stdout(`${JSON.stringify(letters, null, 2)}\n`);
    return exitCode.ok;
  }
  const total = await countDeadLetters(db, request.consumer);
  if (total === 0) {
    io.stdout(`No dead letters in ${where}.\n`);
    return exitCode.ok;
  }
  const pending = letters.some((letter) => letter.redriveRequestedAt !== null);
  const headers = ['MESSAGE ID', 'TYPE', 'SUBJECT', 'REASON', 'ATTEMPTS', 'FIRST FAILED'];
  headers.push('LAST FAILED', ...(pending ? ['REDRIVE'] : []), 'ERROR');
  const rows = letters.map((letter) => [
    letter.messageId,
    letter.type ?? '-',
    letter.subject ?? '-',
    letter.reason,
    String(letter.attempts),
    formatInstant(letter.firstFailedAt),
    formatInstant(letter.lastFailedAt),
    ...(pending ? [letter.redriveRequestedAt ? 'requested' : ''] : []),
    truncate(`${letter.errorName}: ${letter.errorMessage}`, 80),
  ]);
  const shown =
    total > letters.length ? `, the ${letters.length} oldest shown (--limit for more)` : '';
  io.stdout(
    `${formatTable(headers, rows)}\n\n${total} dead letter${total === 1 ? '' : 's'} in ${where}${shown}.\n`,
  );
  return exitCode.ok;
}

async function show(db: Queryable, request: Request, where: string, io: CommandIo) {
  const messageId = request.messageId ?? '';
  const letter = await getDeadLetter(db, request.consumer, messageId);
  if (!letter) return notFound(messageId, where, io);
  if (request.json) {
    io.stdout(`${JSON.stringify(letter, null, 2)}\n`);
    return exitCode.ok;
  }
  const indent = (text: string) => text.replace(/^/gm, '  ');
  const fields: [string, string][] = [
    ['message id', letter.messageId],
    ['consumer', letter.consumer],
    ['type', letter.type ?? '-'],
    ['subject', letter.subject ?? '-'],
    ['reason', letter.reason],
    ['attempts', String(letter.attempts)],
    ['first failed', letter.firstFailedAt.toISOString()],
    ['last failed', letter.lastFailedAt.toISOString()],
    [
      'redrive',
      letter.redriveRequestedAt
        ? `requested at ${letter.redriveRequestedAt.toISOString()}`
        : 'not requested',
    ],
    ['error', `${letter.errorName}: ${letter.errorMessage}`],
  ];
  io.stdout(
    `${fields.map(([name, value]) => `${name.padEnd(13)} ${value}`).join('\n')}\n` +
      `body\n${indent(JSON.stringify(letter.body, null, 2))}\n` +
      `stack\n${indent(letter.errorStack ?? '(none)')}\n`,
  );
  return exitCode.ok;
}

type RedriveOutcome =
  | { readonly messageId: string; readonly outcome: 'handled' }
  | { readonly messageId: string; readonly outcome: 'failed_again'; readonly letter: DeadLetter }
  | { readonly messageId: string; readonly outcome: 'pending' };

async function redrive(db: Queryable, request: Request, where: string, io: CommandIo) {
  const ids = request.all
    ? (await listDeadLetters(db, { consumer: request.consumer, limit: 100_000 })).map(
        (letter) => letter.messageId,
      )
    : [request.messageId ?? ''];
  const requested: string[] = [];
  for (const id of ids) if (await requestRedrive(db, request.consumer, id)) requested.push(id);
  if (!request.all && requested.length === 0) return notFound(ids[0] ?? '', where, io);
  if (requested.length === 0) {
    io.stdout(request.json ? '[]\n' : `No dead letters to redrive in ${where}.\n`);
    return exitCode.ok;
  }
  // PGlite is single-process: the service cannot be running while this process holds the data.
  const embedded = request.location.kind === 'embedded';
  const outcomes = await awaitRedrives(db, request, requested, embedded ? 0 : request.waitMs);
  if (request.json) {
    io.stdout(`${JSON.stringify(outcomes, null, 2)}\n`);
  } else {
    const waited = `${request.waitMs / 1_000} s`;
    const lines = outcomes.map((result) => {
      switch (result.outcome) {
        case 'handled':
          return `${result.messageId}  handled: ${request.service} processed it and removed the dead letter`;
        case 'failed_again':
          return (
            `${result.messageId}  failed again (${result.letter.reason}, ${result.letter.attempts} attempts): ` +
            `${result.letter.errorName}: ${result.letter.errorMessage}`
          );
        case 'pending':
          return embedded
            ? `${result.messageId}  requested: handled when the system next starts (npm start)`
            : request.waitMs === 0
              ? `${result.messageId}  requested`
              : `${result.messageId}  requested, not picked up within ${waited}: is ${request.service} running? ` +
                'Its consumer looks for requests every second; the request stays until then.';
      }
    });
    io.stdout(`${lines.join('\n')}\n`);
  }
  return outcomes.some((result) => result.outcome === 'failed_again')
    ? exitCode.failed
    : exitCode.ok;
}

/**
 * Polls the letters until each is gone (handled: the consumer deletes it with the handler's
 * commit) or no longer requested (failed again: storing the failure clears the request).
 */
async function awaitRedrives(
  db: Queryable,
  request: Request,
  ids: readonly string[],
  waitMs: number,
): Promise<RedriveOutcome[]> {
  const settled = new Map<string, RedriveOutcome>();
  const deadline = Date.now() + waitMs;
  while (waitMs > 0) {
    for (const messageId of ids) {
      if (settled.has(messageId)) continue;
      const letter = await getDeadLetter(db, request.consumer, messageId);
      if (!letter) settled.set(messageId, { messageId, outcome: 'handled' });
      else if (letter.redriveRequestedAt === null) {
        settled.set(messageId, { messageId, outcome: 'failed_again', letter });
      }
    }
    if (settled.size === ids.length || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return ids.map((messageId) => settled.get(messageId) ?? { messageId, outcome: 'pending' });
}

async function discard(db: Queryable, request: Request, where: string, io: CommandIo) {
  const messageId = request.messageId ?? '';
  if (!(await discardDeadLetter(db, request.consumer, messageId))) {
    return notFound(messageId, where, io);
  }
  io.stdout(
    request.json
      ? `${JSON.stringify({ messageId, outcome: 'discarded' })}\n`
      : `Discarded ${messageId} from ${where}: it will never be handled.\n`,
  );
  return exitCode.ok;
}

function notFound(messageId: string, where: string, io: CommandIo): number {
  io.stderr(`cads dlq: no dead letter ${messageId} in ${where}\n`);
  return exitCode.failed;
}
