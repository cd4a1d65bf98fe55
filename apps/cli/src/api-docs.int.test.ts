import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildApiDocuments } from './api-docs.ts';
import { serviceNames } from './system.ts';

const root = new URL('../../../', import.meta.url);
const readJson = async (path: string): Promise<unknown> =>
  JSON.parse(await readFile(new URL(path, root), 'utf8')) as unknown;

describe('API documents in docs/', () => {
  it('match the contracts and routes of the code (regenerate with `npm run docs`)', async () => {
    const { version } = (await readJson('package.json')) as { version: string };
    const documents = await buildApiDocuments(version);
    expect(await readJson('docs/asyncapi.json')).toEqual(documents.asyncapi);
    for (const name of serviceNames) {
      expect(await readJson(`docs/openapi/${name}.json`)).toEqual(documents.openapi[name]);
    }
  });

  it('describe every saga event with its producer and consumers', async () => {
    const { asyncapi } = await buildApiDocuments('test');
    const operations = Object.keys(asyncapi.operations as Record<string, unknown>);
    expect(operations).toContain('order.send.order_created');
    expect(operations).toContain('restaurant.receive.order_created');
    expect(operations).toContain('restaurant.receive.payment_cancelled');
    expect(operations).toContain('order.receive.payment_done');
  });
});
