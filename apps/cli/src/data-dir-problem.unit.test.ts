import { describe, expect, it } from 'vitest';
import { describeDataDirProblem, lowSpaceBytes } from './data-dir-problem.ts';

const dataDir = '/srv/cads/data';
const plenty = 10 * 1_073_741_824;
const opening = { dataDir, opening: true, hadData: true, freeBytes: plenty };
const preparing = { dataDir, opening: false, hadData: false, freeBytes: plenty };
const pgliteFailed = new Error('PGlite failed to initialize properly');

function systemError(code: string, path = dataDir): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, open '${path}'`), { code, path });
}

describe('describeDataDirProblem', () => {
  it('says the disk is full on ENOSPC, from the error or its cause', () => {
    const expected =
      'the disk of the data directory /srv/cads/data is full (0 MB free). ' +
      'Free some space, or give another --data on a disk with room.';
    expect(describeDataDirProblem(systemError('ENOSPC'), { ...preparing, freeBytes: 0 })).toBe(
      expected,
    );
    const wrapped = new Error('could not write', { cause: systemError('ENOSPC') });
    expect(describeDataDirProblem(wrapped, { ...opening, freeBytes: 0 })).toBe(expected);
  });

  it("reads PGlite's own file system errors (Emscripten numbers)", () => {
    const noSpace = { name: 'ErrnoError', errno: 51 };
    expect(describeDataDirProblem(noSpace, { ...opening, hadData: false })).toMatch(
      /^the disk of the data directory \/srv\/cads\/data is full \(10240 MB free\)\./,
    );
    expect(describeDataDirProblem({ name: 'ErrnoError', errno: 2 }, opening)).toMatch(
      /^permission denied on the data directory/,
    );
  });

  it('takes a PGlite failure for a full disk when little space is left', () => {
    expect(describeDataDirProblem(pgliteFailed, { ...opening, freeBytes: lowSpaceBytes - 1 })).toBe(
      'the disk of the data directory /srv/cads/data is full (63 MB free). ' +
        'Free some space, or give another --data on a disk with room.',
    );
  });

  it('but not a failure to prepare the directory, which says its own cause', () => {
    expect(
      describeDataDirProblem(new Error('something else'), { ...preparing, freeBytes: 0 }),
    ).toBeUndefined();
  });

  it('says permission denied, naming the path inside the directory that refused', () => {
    expect(describeDataDirProblem(systemError('EACCES'), preparing)).toBe(
      'permission denied on the data directory /srv/cads/data. ' +
        'Run cads as the user that owns it, or give another --data.',
    );
    expect(describeDataDirProblem(systemError('EPERM', `${dataDir}/base/5/1259`), opening)).toBe(
      'permission denied on the data directory /srv/cads/data (/srv/cads/data/base/5/1259). ' +
        'Run cads as the user that owns it, or give another --data.',
    );
  });

  it('says a read-only file system is one', () => {
    expect(describeDataDirProblem(systemError('EROFS'), preparing)).toBe(
      'the data directory /srv/cads/data is on a read-only file system. Give another --data.',
    );
  });

  it('says data PGlite cannot open may be corrupted, and how to start afresh', () => {
    expect(describeDataDirProblem(pgliteFailed, opening)).toBe(
      'the data in /srv/cads/data could not be opened and may be corrupted ' +
        '(PGlite failed to initialize properly). ' +
        'Move the directory away to start afresh with no data, or restore it from a backup.',
    );
  });

  it('says a new database could not be created where there was no data', () => {
    expect(describeDataDirProblem(pgliteFailed, { ...opening, hadData: false })).toBe(
      'the embedded database could not be created in /srv/cads/data ' +
        '(PGlite failed to initialize properly). Give an empty or new directory as --data.',
    );
  });

  it('leaves unknown failures alone, and says so when free space is unknown', () => {
    expect(describeDataDirProblem(new TypeError('bug'), preparing)).toBeUndefined();
    expect(
      describeDataDirProblem(systemError('ENOSPC'), { ...preparing, freeBytes: undefined }),
    ).toBe(
      'the disk of the data directory /srv/cads/data is full. ' +
        'Free some space, or give another --data on a disk with room.',
    );
  });
});
