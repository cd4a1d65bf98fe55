import { mkdir, writeFile } from 'node:fs/promises';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService } from '@cads/service';
import { openPglite } from '@cads/storage-pglite';
import pino from 'pino';
import { buildAsyncApi } from './asyncapi.ts';
import { definitionOf, documentationSettings, serviceNames, type ServiceName } from './system.ts';

export interface ApiDocuments {
  readonly asyncapi: Record<string, unknown>;
  readonly openapi: Record<ServiceName, unknown>;
}

/**
 * Builds every service (without starting it) and returns its OpenAPI document, with the
 * saga's AsyncAPI document: what `docs/` must hold.
 */
export async function buildApiDocuments(version: string): Promise<ApiDocuments> {
  const host = await openPglite();
  try {
    const broker = await createPostgresBroker({ db: await host.database('cads_broker') });
    const openapi = {} as Record<ServiceName, unknown>;
    for (const name of serviceNames) {
      const service = await createService(definitionOf(name, documentationSettings), {
        db: await host.database(name),
        broker,
        logger: pino({ level: 'silent' }),
      });
      await service.app.ready();
      openapi[name] = JSON.parse(JSON.stringify(service.app.swagger())) as unknown;
      await service.app.close();
    }
    await broker.close();
    return { asyncapi: buildAsyncApi(version), openapi };
  } finally {
    await host.close();
  }
}

/** Writes docs/asyncapi.json and docs/openapi/<service>.json under `root`. */
export async function writeApiDocuments(root: URL, documents: ApiDocuments): Promise<void> {
  await mkdir(new URL('docs/openapi/', root), { recursive: true });
  await writeFile(
    new URL('docs/asyncapi.json', root),
    `${JSON.stringify(documents.asyncapi, null, 2)}\n`,
  );
  for (const [name, document] of Object.entries(documents.openapi)) {
    await writeFile(
      new URL(`docs/openapi/${name}.json`, root),
      `${JSON.stringify(document, null, 2)}\n`,
    );
  }
}
