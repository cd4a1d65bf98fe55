import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { foodWordsIn } from './toolkit-vocabulary.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packagesDir = join(root, 'packages');
const textFile = /\.(ts|js|mjs|cjs|json|md|sql|ya?ml)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return textFile.test(entry.name) ? [path] : [];
  });
}

/**
 * Lines the rule misreads and that cannot be rephrased: a released migration is never edited
 * (the runner refuses a changed one), and there "orders" is a verb.
 */
const misread: readonly { readonly file: string; readonly text: string }[] = [
  { file: 'packages/messaging-postgres/migrations/001_event_log.sql', text: 'and orders settles' },
];

/** `path:line: token — the line`, one per food word of the package. */
function offences(pkg: string): string[] {
  return filesUnder(join(packagesDir, pkg)).flatMap((path) => {
    const file = relative(root, path);
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    return foodWordsIn(text)
      .filter(({ line }) => {
        const content = lines[line - 1]!;
        return !misread.some((known) => known.file === file && content.includes(known.text));
      })
      .map(
        ({ line, token }) => `${file}:${line}: ${token} — ${lines[line - 1]!.trim().slice(0, 120)}`,
      );
  });
}

const words = (text: string) => foodWordsIn(text).map(({ token }) => token);

describe('the food-word rule', () => {
  it('finds the words whole, inside identifiers, in any case and in the plural', () => {
    expect(words('const orderId = input.order_id; type OrderRef = unknown;')).toEqual([
      'order',
      'order',
      'Order',
    ]);
    expect(words("fetch('/api/orders'); emit('payment_cancelled'); CartItem; riders")).toEqual([
      'orders',
      'payment',
      'Cart',
      'riders',
    ]);
    expect(words('the Restaurant is a FOOD kitchen with a menu')).toEqual([
      'Restaurant',
      'FOOD',
      'kitchen',
      'menu',
    ]);
    expect(foodWordsIn('a\n\n  b orderId')).toEqual([{ line: 3, word: 'order', token: 'order' }]);
  });

  it('takes "order" for the business order unless a phrase makes it a sequence', () => {
    expect(words('e.g. an order id; per order; one order at a time; in an order')).toEqual([
      'order',
      'order',
      'order',
      'order',
    ]);
    expect(
      words(
        'kept in order, in commit order, in the order received, in the broker’s order, ' +
          'out of order; select * from log order by position; the saga order; eventOrder; ' +
          'their order; an order-independent verdict',
      ),
    ).toEqual([]);
  });

  it('leaves other words alone, and delivery (the broker’s word)', () => {
    expect(
      words('ordered, ordering, recorder, override, discard, redelivery, at-least-once delivery'),
    ).toEqual([]);
  });
});

describe('packages/ has no food words (see toolkit-vocabulary.ts for the rule)', () => {
  const packages = readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);

  it.each(packages)('packages/%s', (pkg) => {
    expect(offences(pkg), `packages/${pkg} speaks of food: rename or rephrase`).toEqual([]);
  });
});
