/** Network failures that say the server could not be reached or went away, not that it refused. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a database that cannot serve right now: class 08 (connection exceptions), 53
 * (insufficient resources: disk full, out of memory, too many connections), 57P01–57P03
 * (shutting down, crashed, not accepting connections yet), 58030 (I/O error), 25006 (read-only:
 * a standby, or a disk put read-only), 40001/40P01 are not here: a conflict is not an outage.
 */
function isUnavailableSqlState(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '58030' ||
    code === '25006'
  );
}

/** Messages of the PostgreSQL driver when its connection fails without a code. */
const driverMessages =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|client has encountered a connection error|not queryable|connection (is )?closed/i;

/**
 * Whether `error` (from a `Database` of either adapter, or anything it wraps) says the database
 * is unavailable — unreachable, restarting, out of disk or read-only — as opposed to refusing
 * the statement itself (a constraint, a syntax error, a conflict). An outage is waited out; a
 * refusal is the caller's to handle. Looks through `cause` chains.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    const { code, message, cause } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && (networkCodes.has(code) || isUnavailableSqlState(code))) {
      return true;
    }
    if (typeof message === 'string' && driverMessages.test(message)) return true;
    // An AggregateError (e.g. every address of a host refused) carries its errors apart.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    current = cause;
  }
  return false;
}
