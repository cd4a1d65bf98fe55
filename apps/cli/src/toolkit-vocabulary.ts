/**
 * The toolkit (`packages/`) knows nothing about food: the reference system's words belong in
 * `services/` and `apps/`. This finds them in a file's text, code and comments alike.
 *
 * The rule, strict yet workable:
 * - A word counts as a whole word or as a part of an identifier, in any case and in the plural:
 *   `orderId`, `order_created`, `OrderRef`, `/api/orders`, `CartItem`, `riders` all count;
 *   `ordered`, `ordering`, `recorder`, `override` and `discard` do not (other words).
 * - `order` alone also means a sequence, and the toolkit needs that sense (commit order, SQL
 *   `order by`). It is allowed only in such phrases: after `in` (within three words: "in order",
 *   "in the order received", "in commit order") unless an article of a thing comes between
 *   ("in an order"), after a word that says what is ordered ("commit", "publish", "saga",
 *   "key"…, see `sequenceQualifiers`), in "out of order", and before "by" or "independent".
 *   Anything else is the business order: rephrase ("no ordering across types"), or name the
 *   fixture after something else.
 * - `delivery` is not checked: in the toolkit it is the broker's word (a message's delivery,
 *   at-least-once delivery, redelivery), never food's; "food delivery" is caught by `food`.
 */

const foodWords = ['order', 'restaurant', 'rider', 'payment', 'food', 'kitchen', 'menu', 'cart'];
const byToken = new Map(
  foodWords.flatMap((word) => [[word, word] as const, [`${word}s`, word] as const]),
);

/** Words before `order` that make it a sequence: what is ordered, or how. */
export const sequenceQualifiers: ReadonlySet<string> = new Set([
  'arrival',
  'array',
  'call',
  'commit',
  'different',
  'deterministic',
  'event',
  'index',
  'insertion',
  'its',
  'key',
  'label',
  'lease',
  'log',
  'position',
  'publish',
  'push',
  'relative',
  'robin',
  'saga',
  'same',
  'sort',
  'stream',
  'strict',
  'their',
]);

/** Words that make the next `order` a thing even after "in": "in an order", "in each order". */
const thingDeterminers = new Set([
  'a',
  'an',
  'one',
  'each',
  'every',
  'this',
  'that',
  'another',
  'per',
]);

export interface FoodWord {
  /** 1-based line number. */
  readonly line: number;
  /** The word of the list it is (singular). */
  readonly word: string;
  /** The token as written, e.g. `orderId`'s `order`. */
  readonly token: string;
}

interface Token {
  readonly text: string;
  readonly lower: string;
  readonly index: number;
}

/** Words and identifier parts (camelCase, snake_case, kebab-case and paths split apart). */
function tokensOf(text: string): Token[] {
  const tokens: Token[] = [];
  for (const chunk of text.matchAll(/[A-Za-z0-9]+/g)) {
    // A possessive's "s" is not a word: "the broker's order" reads as "the broker order".
    const before = text[chunk.index - 1];
    if (chunk[0] === 's' && (before === "'" || before === '’')) continue;
    for (const part of chunk[0].matchAll(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g)) {
      tokens.push({ text: part[0], lower: part[0].toLowerCase(), index: chunk.index + part.index });
    }
  }
  return tokens;
}

function isSequence(tokens: readonly Token[], at: number): boolean {
  const word = (offset: number) => tokens[at + offset]?.lower;
  if (word(1) === 'by' || word(1) === 'independent') return true;
  if (sequenceQualifiers.has(word(-1) ?? '')) return true;
  if (word(-1) === 'of' && word(-2) === 'out') return true;
  for (let back = 1; back <= 3; back++) {
    const before = word(-back);
    if (before === 'in') return true;
    if (before === undefined || thingDeterminers.has(before)) return false;
  }
  return false;
}

/** Every food word in `text`, in order of appearance. */
export function foodWordsIn(text: string): FoodWord[] {
  const lineStarts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    lineStarts.push(index + 1);
  }
  const lineOf = (index: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (lineStarts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
  const tokens = tokensOf(text);
  const found: FoodWord[] = [];
  tokens.forEach((token, at) => {
    const word = byToken.get(token.lower);
    if (word === undefined) return;
    if (token.lower === 'order' && isSequence(tokens, at)) return;
    found.push({ line: lineOf(token.index), word, token: token.text });
  });
  return found;
}
