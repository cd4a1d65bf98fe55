import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** The OpenAPI 3 document `@fastify/swagger` generates. */
export type OpenApiDocument = Exclude<ReturnType<FastifyInstance['swagger']>, string>;

/**
 * Loads `app` (without listening), then writes its OpenAPI document to `file` as formatted JSON
 * and returns it. The file is replaced atomically, so a reader (or a crash mid-write) never
 * sees half a document. `app` must have been built by `createHttpApp`.
 */
export async function writeOpenApi(app: FastifyInstance, file: string): Promise<OpenApiDocument> {
  await app.ready();
  const document = app.swagger();
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(document, null, 2)}\n`);
  await rename(partial, file);
  return document;
}
