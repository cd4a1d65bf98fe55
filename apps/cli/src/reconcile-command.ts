import type { Queryable } from '@cads/storage';
import { type CommandIo, exitCode, parseCommand } from './command-io.ts';
import { describeStaleLock } from './data-dir-lock.ts';
import { OperatorError } from './operator-error.ts';
import { countOrders, type Finding, type OrderCounts, reconcile } from './reconcile.ts';
import { readReconcileSnapshot } from './reconcile-snapshot.ts';
import {
  locationUsage,
  openServiceDatabases,
  resolveDatabaseLocation,
  type ServiceDatabases,
} from './service-databases.ts';
import { isServiceName } from './system.ts';
import { formatTable } from './text-table.ts';

export const reconcileUsage = `Usage: cads reconcile [options]

Reads every service's records (restaurant reservations, rider assignments, payment charges,
orders and their events), the externals' ledger, reservations and assignments, the
notifications and the bff's decisions, and reports each order where they disagree with each
other or with the saga's outcomes (restaurant/rider/payment/order 0/0/0/2, 4/-1/-1/5,
5/4/-1/5, 5/5/4/5): one line per finding, then a summary.

Options:
  --stuck-after <s>  an order not final with no activity for longer is stuck (default 60)
  --settle <s>       a final order is checked once quiet this long (default 5), since
                     compensations and notifications follow the final event by moments
  --json             { startedAt, orders, findings: [{ orderId, kind, detail }] }
  -h, --help         this help

${locationUsage}
Exit codes: 0 consistent, 1 findings (or the databases could not be read: the reason goes to
stderr and nothing to stdout), 2 usage.
`;

const options = {
  json: { type: 'boolean' },
  'stuck-after': { type: 'string' },
  settle: { type: 'string' },
  'database-url': { type: 'string' },
  'postgres-url': { type: 'string' },
  prefix: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `cads reconcile …`: returns the exit code. */
export async function runReconcile(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand('cads reconcile', reconcileUsage, argv, options, io);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals, usage } = parsed;
  if (positionals.length > 0) return usage(`unexpected arguments: ${positionals.join(' ')}`);
  const stuckAfter = Number(values['stuck-after'] ?? 60);
  const settle = Number(values.settle ?? 5);
  if (!Number.isFinite(stuckAfter) || stuckAfter < 0) {
    return usage('--stuck-after must be a number of seconds ≥ 0');
  }
  if (!Number.isFinite(settle) || settle < 0)
    return usage('--settle must be a number of seconds ≥ 0');
  const resolved = resolveDatabaseLocation(
    {
      databaseUrl: values['database-url'],
      postgresUrl: values['postgres-url'],
      prefix: values.prefix,
      data: values.data,
    },
    io.env,
    { oneService: false },
  );
  if ('usage' in resolved) return usage(resolved.usage);

  const databases = openServiceDatabases(resolved.location, io.cwd, {
    onStaleLock: (stale) => io.stderr(`cads reconcile: ${describeStaleLock(stale)}\n`),
  });
  try {
    const { snapshot, startedAt } = await readReconcileSnapshot(explained(databases));
    const reconcileOptions = { stuckAfterMs: stuckAfter * 1_000, settleMs: settle * 1_000 };
    const findings = reconcile(snapshot, startedAt, reconcileOptions);
    const counts = countOrders(snapshot, startedAt, reconcileOptions);
    io.stdout(
      values.json
        ? `${JSON.stringify({ startedAt, orders: counts, findings }, null, 2)}\n`
        : report(findings, counts),
    );
    return findings.length > 0 ? exitCode.failed : exitCode.ok;
  } catch (error) {
    if (!(error instanceof OperatorError)) throw error;
    io.stderr(`cads reconcile: ${error.message}\n`);
    return exitCode.failed;
  } finally {
    await databases.close();
  }
}

/** Each service's database, its failures saying which service and where. */
function explained(databases: ServiceDatabases) {
  return async (service: string): Promise<Queryable> => {
    if (!isServiceName(service)) {
      throw new OperatorError(`the saga's step ${service} has no service database cads knows`);
    }
    const db = await databases.databaseFor(service);
    return {
      query: <Row>(...args: Parameters<Queryable['query']>) =>
        db.query<Row>(...args).catch((error: unknown) => {
          const missingTable = (error as { code?: unknown }).code === '42P01';
          const problem = error instanceof Error ? error.message : String(error);
          throw new OperatorError(
            `cannot read ${service}'s database (${databases.describe(service)}): ${problem}` +
              (missingTable ? ' (has the service ever started there?)' : ''),
            { cause: error },
          );
        }),
    };
  };
}

function report(findings: readonly Finding[], counts: OrderCounts): string {
  const orders =
    `${counts.total} order${counts.total === 1 ? '' : 's'} (${counts.completed} completed, ` +
    `${counts.cancelled} cancelled, ${counts.inFlight} in flight, ${counts.stuck} stuck)`;
  if (findings.length === 0) return `reconcile: ${orders}: consistent, no findings.\n`;
  const affected = new Set(findings.map((finding) => finding.orderId)).size;
  const table = formatTable(
    ['ORDER', 'FINDING', 'DETAIL'],
    findings.map((finding) => [finding.orderId, finding.kind, finding.detail]),
  );
  return (
    `${table}\n\nreconcile: ${orders}: ${findings.length} finding${findings.length === 1 ? '' : 's'} ` +
    `on ${affected} order${affected === 1 ? '' : 's'}.\n`
  );
}
