import { randomUUID } from 'node:crypto';
import { type Database, loadMigrations, migrate, type SqlStatement } from '@cads/storage';
import { openPglite, type PgliteHost } from '@cads/storage-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChargeRequest } from '../contracts/api.ts';
import { defaultConfig, mergeConfig } from '../domain/config.ts';
import { saveConfig } from '../store/config-store.ts';
import { listLedger } from '../store/ledger-store.ts';
import { answerCall, type Call, type CallContext } from './answer-call.ts';
import { charge } from './effects.ts';

let host: PgliteHost;
let db: Database;
beforeAll(async () => {
  host = await openPglite();
  db = await host.database('externals');
  await migrate(
    db,
    'externals',
    await loadMigrations(new URL('../../migrations/', import.meta.url)),
  );
});
afterAll(async () => {
  await host?.close();
});

/** `db`, counting what runs on it; `beforeStatement` may run something first, or throw. */
function watched(beforeStatement: (n: number) => Promise<void> = () => Promise.resolve()) {
  const seen = { statements: 0, transactions: 0 };
  const watching: Database = {
    dialect: db.dialect,
    schema: db.schema,
    async query<Row>(statement: SqlStatement | string, values?: readonly unknown[]) {
      seen.statements += 1;
      await beforeStatement(seen.statements);
      return db.query<Row>(statement, values);
    },
    transaction(work) {
      seen.transactions += 1;
      return db.transaction(work);
    },
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: () => db.close(),
  };
  return { seen, db: watching };
}

const contextOf = (database: Database): CallContext => ({
  db: database,
  now: () => new Date(),
  random: () => 0,
  sleep: () => Promise.resolve(),
});

function newCharge(key = randomUUID()): Call<ChargeRequest> {
  const body = { orderId: `o-${randomUUID()}`, userId: `u-${randomUUID()}`, amountCents: 990 };
  return { system: 'payment', method: 'post', key, body };
}

const chargesOf = async (call: Call<ChargeRequest>) =>
  (await listLedger(db, { orderId: call.body.orderId })).filter((entry) => entry.kind === 'charge');

describe('answerCall', () => {
  it('answers a new key with one read and one write, and replays it with one read', async () => {
    const call = newCharge();
    const first = watched();
    const answered = await answerCall(contextOf(first.db), call, charge);
    expect(answered.answer.status).toBe(201);
    expect(first.seen).toEqual({ statements: 2, transactions: 0 });

    const again = watched();
    const replayed = await answerCall(contextOf(again.db), call, charge);
    expect([replayed.replayed, replayed.answer]).toEqual([true, answered.answer]);
    expect(again.seen).toEqual({ statements: 1, transactions: 0 });
    expect(await chargesOf(call)).toHaveLength(1);
  });

  it('a call overtaken by another with its key after its read replays that answer, once charged', async () => {
    const call = newCharge();
    let other: Awaited<ReturnType<typeof answerCall>> | undefined;
    const overtaken = watched(async (n) => {
      if (n === 2) other = await answerCall(contextOf(db), call, charge);
    });
    const late = await answerCall(contextOf(overtaken.db), call, charge);
    expect(other?.replayed).toBe(false);
    expect([late.replayed, late.answer]).toEqual([true, other?.answer]);
    expect(overtaken.seen.statements).toBe(3);
    expect(await chargesOf(call)).toHaveLength(1);
  });

  it('a crash between the read and the write leaves the key as it was', async () => {
    const call = newCharge();
    const config = mergeConfig(defaultConfig(), { payment: { post: { failFirst: [503] } } });
    if ('reasons' in config) throw new Error(config.reasons.join('; '));
    await saveConfig(db, `order:${call.body.orderId}`, config.config, new Date());
    const crashing = watched((n) =>
      n === 2 ? Promise.reject(new Error('crashed')) : Promise.resolve(),
    );
    await expect(answerCall(contextOf(crashing.db), call, charge)).rejects.toThrow('crashed');
    expect(await chargesOf(call)).toEqual([]);
    // The retry is the key's first attempt (failFirst's 503), then its second.
    expect((await answerCall(contextOf(db), call, charge)).answer.status).toBe(503);
    expect((await answerCall(contextOf(db), call, charge)).answer.status).toBe(201);
    expect(await chargesOf(call)).toHaveLength(1);
  });
});
