/** What the adapter reports. A pino logger satisfies it; the default discards everything. */
export interface NatsBrokerLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export const silentLogger: NatsBrokerLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The error itself is not serialisable by every logger; its message and name are. */
export function describeError(error: unknown): { error: string } {
  return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}
