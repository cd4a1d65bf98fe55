import { describe, expect, it } from 'vitest';
import {
  clusterDatabaseUrl,
  defaultPostgresUrl,
  resolveDatabaseLocation,
} from './service-databases.ts';

const one = { oneService: true };
const every = { oneService: false };

describe('resolveDatabaseLocation', () => {
  it('defaults to the embedded data of `cads start`', () => {
    expect(resolveDatabaseLocation({}, {}, one)).toEqual({
      location: { kind: 'embedded', dataDir: '.cads/data' },
    });
    expect(resolveDatabaseLocation({}, { CADS_DATA_DIR: '/d' }, every)).toEqual({
      location: { kind: 'embedded', dataDir: '/d' },
    });
  });

  it('takes one service database from --database-url or CADS_DATABASE_URL', () => {
    expect(resolveDatabaseLocation({ databaseUrl: 'postgres://h/x' }, {}, one)).toEqual({
      location: { kind: 'database-url', url: 'postgres://h/x' },
    });
    expect(resolveDatabaseLocation({}, { CADS_DATABASE_URL: 'postgres://h/y' }, one)).toEqual({
      location: { kind: 'database-url', url: 'postgres://h/y' },
    });
  });

  it('refuses a single database where every service is read, but ignores the variable', () => {
    expect(resolveDatabaseLocation({ databaseUrl: 'postgres://h/x' }, {}, every)).toHaveProperty(
      'usage',
    );
    expect(resolveDatabaseLocation({}, { CADS_DATABASE_URL: 'postgres://h/y' }, every)).toEqual({
      location: { kind: 'embedded', dataDir: '.cads/data' },
    });
  });

  it('finds a cluster from the flags or the variables, with the default server and prefix', () => {
    expect(resolveDatabaseLocation({ prefix: 'bench' }, {}, every)).toEqual({
      location: { kind: 'cluster', postgresUrl: defaultPostgresUrl, prefix: 'bench' },
    });
    expect(
      resolveDatabaseLocation({}, { CADS_POSTGRES_URL: 'postgres://db/postgres' }, every),
    ).toEqual({
      location: { kind: 'cluster', postgresUrl: 'postgres://db/postgres', prefix: 'cads' },
    });
    expect(
      resolveDatabaseLocation(
        { postgresUrl: 'postgres://flag/postgres' },
        { CADS_POSTGRES_URL: 'postgres://env/postgres', CADS_DATABASE_PREFIX: 'p' },
        every,
      ),
    ).toEqual({
      location: { kind: 'cluster', postgresUrl: 'postgres://flag/postgres', prefix: 'p' },
    });
  });

  it('lets flags win over the environment', () => {
    expect(
      resolveDatabaseLocation({ data: 'here' }, { CADS_DATABASE_URL: 'postgres://h/y' }, one),
    ).toEqual({ location: { kind: 'embedded', dataDir: 'here' } });
    expect(
      resolveDatabaseLocation({ prefix: 'p' }, { CADS_DATABASE_URL: 'postgres://h/y' }, one),
    ).toMatchObject({ location: { kind: 'cluster', prefix: 'p' } });
  });

  it('refuses contradicting flags and an invalid prefix', () => {
    expect(resolveDatabaseLocation({ data: 'd', prefix: 'p' }, {}, one)).toHaveProperty('usage');
    expect(
      resolveDatabaseLocation({ databaseUrl: 'postgres://h/x', data: 'd' }, {}, one),
    ).toHaveProperty('usage');
    expect(resolveDatabaseLocation({ prefix: 'Bad-Prefix' }, {}, one)).toHaveProperty('usage');
  });
});

describe('clusterDatabaseUrl', () => {
  it('names the database <prefix>_<service> on the same server, like `cads cluster`', () => {
    expect(
      clusterDatabaseUrl({ postgresUrl: 'postgres://u:pw@h:5433/postgres', prefix: 'x' }, 'rider'),
    ).toBe('postgres://u:pw@h:5433/x_rider');
  });
});
