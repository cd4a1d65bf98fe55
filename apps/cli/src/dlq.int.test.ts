import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDeadLetter, installConsumerTables, listDeadLetters } from '@cads/consumer';
import { createMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { sql } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import { natsSkipReason, postgresSkipReason } from '@cads/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noDelays, sagaClient } from '../../../e2e/saga/saga-client.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { runDlq } from './dlq.ts';
import {
  type PrefixedSystem,
  runCli,
  runInProcess,
  startPrefixedSystem,
} from './testing/operator-harness.ts';

/** `cads dlq …` in this process; `runCli` where the test is about the real process. */
const dlq = (args: readonly string[], env?: Record<string, string>) =>
  runInProcess(runDlq, args, env);

const skip = (await postgresSkipReason()) ?? (await natsSkipReason());

describe.skipIf(skip !== undefined)(
  `cads dlq on a running system (PostgreSQL + JetStream)${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let sut: PrefixedSystem;
    let client: ReturnType<typeof sagaClient>;
    let where: string[];
    beforeAll(async () => {
      // A short outage budget: a compensation whose system keeps failing is dead-lettered in
      // seconds, not after the default hour.
      sut = await startPrefixedSystem({
        outage: { budgetMs: 3_000, openMs: 200, maxOpenMs: 1_000 },
      });
      client = sagaClient(sut.system);
      await client.configure(noDelays);
      where = ['--postgres-url', sut.postgresUrl, '--prefix', sut.prefix];
    }, 120_000);
    afterAll(async () => {
      await sut?.dispose();
    });

    it('lists, shows, redrives (it fails again) and discards an invalid event', async () => {
      const orderId = randomUUID();
      // A faulty producer, simulated by publishing straight to the broker.
      const poison = createMessage({
        type: 'order_created',
        source: '/test',
        subject: orderId,
        data: { orderId, userId: 'x', restaurantId: '48hbfe4', cart: 'not a cart', status: 0 },
      });
      await sut.system.broker.publish([poison]);
      await waitFor('the dead letter', () =>
        getDeadLetter(sut.system.databases.restaurant, 'restaurant', poison.id),
      );

      const list = await runCli(['dlq', 'list', 'restaurant', ...where]);
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
      const line = list.stdout.split('\n').find((text) => text.startsWith(poison.id)) ?? '';
      expect(line).toContain('order_created');
      expect(line).toContain(orderId);
      expect(line).toContain('invalid_payload');
      expect(list.stdout.split('\n')[0]).toMatch(
        /^MESSAGE ID\s+TYPE\s+SUBJECT\s+REASON\s+ATTEMPTS/,
      );
      expect(list.stdout).toContain(`1 dead letter in restaurant (postgres://`);

      const shown = await dlq(['show', 'restaurant', poison.id, '--json', ...where]);
      expect(shown.code).toBe(0);
      const letter = JSON.parse(shown.stdout) as {
        body: { data: { cart: unknown } };
        errorStack: string;
        errorMessage: string;
      };
      expect(letter.body.data.cart).toBe('not a cart');
      expect(letter.errorMessage).toContain('cart');
      expect(letter.errorStack).not.toBe('');
      const text = await dlq(['show', 'restaurant', poison.id, ...where]);
      expect(text.stdout).toContain('"cart": "not a cart"');
      expect(text.stdout).toMatch(/^stack$/m);

      const redrive = await runCli(['dlq', 'redrive', 'restaurant', poison.id, ...where]);
      expect(redrive.stdout).toMatch(
        new RegExp(`^${poison.id}  failed again \\(invalid_payload, \\d+ attempts\\): .*cart`, 'm'),
      );
      expect(redrive.code).toBe(1);

      const discard = await dlq(['discard', 'restaurant', poison.id, ...where]);
      expect(discard.code).toBe(0);
      expect(discard.stdout).toContain(`Discarded ${poison.id}`);
      const gone = await dlq(['show', 'restaurant', poison.id, ...where]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`no dead letter ${poison.id} in restaurant`);
    }, 120_000);

    it('redrives a compensation that failed until the restaurant system answered again', async () => {
      const userId = `u-${randomUUID().slice(0, 8)}`;
      // The rider rejects, and releasing the restaurant's reservation fails (an outage of the
      // restaurant system) for longer than the outage budget, until reconfigured.
      await client.configure(
        { rider: { post: { response: 404 } }, restaurant: { delete: { response: 503 } } },
        `user:${userId}`,
      );
      const { orderId } = (await (await client.placeOrder(userId)).json()) as { orderId: string };
      const letter = await waitFor(
        'the compensation to be dead-lettered',
        async () =>
          (await listDeadLetters(sut.system.databases.restaurant)).find(
            (candidate) => candidate.subject === orderId,
          ),
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      expect(letter).toMatchObject({ type: 'rider_cancelled', reason: 'outage_budget_exhausted' });
      expect(await client.states(orderId)).toEqual([0, 4, -1, 5]);

      const list = await dlq(['list', 'restaurant', '--json', ...where]);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toContainEqual(
        expect.objectContaining({ messageId: letter.messageId, subject: orderId }),
      );

      await client.configure({ restaurant: { delete: { response: 204 } } }, `user:${userId}`);
      const redrive = await dlq(['redrive', 'restaurant', '--all', '--json', ...where]);
      expect(redrive.code).toBe(0);
      expect(JSON.parse(redrive.stdout)).toEqual([
        { messageId: letter.messageId, outcome: 'handled' },
      ]);
      await client.settles(orderId, [5, 4, -1, 5]);
      expect((await client.reservations(orderId)).map((r) => r.status)).toEqual(['released']);
    }, 150_000);

    it('answers 2 to a usage error and 1 to an unknown letter or database', async () => {
      const usage = await runCli(['dlq', 'list', 'nope', ...where]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('list needs a service');
      expect(usage.stderr).toContain('Usage: cads dlq');
      const both = await dlq(['list', 'order', '--data', 'x', ...where]);
      expect(both.code).toBe(2);
      const missing = await dlq(['redrive', 'order', 'no-such-id', ...where]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no dead letter no-such-id in order');
      const wrongPrefix = await dlq([
        ...['list', 'order', '--postgres-url', sut.postgresUrl],
        ...['--prefix', 'no_such_prefix'],
      ]);
      expect(wrongPrefix.code).toBe(1);
      expect(wrongPrefix.stderr).toContain('the database does not exist');
    }, 60_000);
  },
);

describe('cads dlq on the embedded data (PGlite)', () => {
  let dataDir: string;
  const messageId = 'm-embedded-1';
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cads-dlq-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses the data while another process has it open, and reads it afterwards', async () => {
    const host = await openPglite({ dataDir });
    try {
      const db = await host.database('payment');
      await installConsumerTables(db);
      await db.query(
        sql`insert into cads_dead_letters
              (consumer, message_id, type, subject, body, reason, error_name, error_message, attempts)
            values ('payment', ${messageId}, 'rider_assigned', 'o-1', '{"data":{}}'::jsonb,
                    'terminal_error', 'TerminalError', 'the bank refused', 1)`,
      );
      const refused = await runCli(['dlq', 'list', 'payment', '--data', dataDir]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`is open in process ${process.pid}`);
      expect(refused.stderr).toContain('PGlite is single-process');
    } finally {
      await host.close();
    }

    // A running `cads start` holds the directory's lock (here: this process).
    const lock = await lockDataDir(dataDir);
    try {
      const locked = await dlq(['list', 'payment', '--data', dataDir]);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(
        new RegExp(
          `^cads dlq: the data directory ${dataDir} is in use by process ${process.pid} ` +
            String.raw`\(started [\d: -]+\)\. Stop it first, or give another --data\.\n$`,
        ),
      );
    } finally {
      await lock.release();
    }

    const list = await runCli(['dlq', 'list', 'payment'], { CADS_DATA_DIR: dataDir });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(messageId);
    expect(list.stdout).toContain('TerminalError: the bank refused');

    const redrive = await dlq(['redrive', 'payment', messageId, '--data', dataDir]);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain('handled when the system next starts');

    const noSchema = await dlq(['list', 'rider', '--data', dataDir]);
    expect(noSchema.code).toBe(1);
    expect(noSchema.stderr).toContain('has no schema rider');
    // Three PGlite opens of a data directory and two `cads` processes: 30–40 s on a busy
    // machine, and more than 120 s once under a full test run beside the fault suites.
  }, 300_000);
});
