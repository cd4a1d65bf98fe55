import { chromiumSkipReason, natsSkipReason, postgresSkipReason } from '@cads/testing';

/**
 * Says once, at the start of a run, which servers the integration suites found, and why the
 * suites needing a missing one are skipped. With CADS_REQUIRE_SERVERS=1 a missing server fails
 * the run here, before any test.
 */
export default async function reportServers(): Promise<void> {
  const [postgres, nats, chromium] = await Promise.all([
    postgresSkipReason(),
    natsSkipReason(),
    chromiumSkipReason(),
  ]);
  const lines = [
    postgres ? `SKIPPING PostgreSQL suites: ${postgres}` : 'PostgreSQL: up',
    nats ? `SKIPPING NATS JetStream suites: ${nats}` : 'NATS JetStream: up',
    chromium ? `SKIPPING browser suites: ${chromium}` : 'Chromium: installed',
  ];
  console.log(`\nIntegration servers\n  ${lines.join('\n  ')}\n`);
}
