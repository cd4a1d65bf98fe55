import { createInterface } from 'node:readline';
import { type DataDirLock, lockDataDir } from '../data-dir-lock.ts';

// A process racing for a data directory's lock (data-dir-lock.int.test.ts): says `ready` once
// loaded, tries at `go` and says `won` or `refused <message>`; it exits when its standard
// input closes, a winner releasing the lock first.
const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: lock-contender.ts <data dir>');
let lock: DataDirLock | undefined;
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'go') continue;
  try {
    lock = await lockDataDir(dataDir, {
      onStaleLock: ({ owner }) => process.stdout.write(`took-over ${owner?.pid}\n`),
    });
    process.stdout.write('won\n');
  } catch (error) {
    process.stdout.write(`refused ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
await lock?.release();
