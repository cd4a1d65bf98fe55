/**
 * Parameters as SQL literals, for adapters that send a statement and its parameters in one
 * simple-protocol message (PGlite's prepared statements, BEGIN riding on a transaction's first
 * statement).
 *
 * Safety: every value becomes a single-quoted string in PostgreSQL's text format for its type,
 * quotes doubled. With `standard_conforming_strings` on (the default since PostgreSQL 9.1, and
 * checked by the adapters) nothing else in such a string is special, and PostgreSQL converts it
 * with the target type's input function, as it does a text-format parameter.
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  return quote(textOf(value));
}

/**
 * `text` with each `$n` outside quotes and comments replaced by `sqlLiteral(values[n - 1])`.
 * Statement texts are the program's own (see `sql`), never input.
 */
export function inlineParameters(text: string, values: readonly unknown[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const skipTo =
      c === "'" || c === '"'
        ? closing(text, i, c)
        : c === '-' && text[i + 1] === '-'
          ? lineEnd(text, i)
          : c === '$' && /[0-9]/.test(text[i + 1] ?? '')
            ? -1
            : c === '$'
              ? dollarQuoteEnd(text, i)
              : i + 1;
    if (skipTo === -1) {
      let end = i + 1;
      while (end < text.length && /[0-9]/.test(text[end] ?? '')) end += 1;
      const index = Number(text.slice(i + 1, end)) - 1;
      if (index < 0 || index >= values.length) {
        throw new RangeError(`statement refers to $${index + 1}, but has ${values.length} values`);
      }
      out += sqlLiteral(values[index]);
      i = end;
    } else {
      out += text.slice(i, skipTo);
      i = skipTo;
    }
  }
  return out;
}

function closing(text: string, start: number, quoteChar: string): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === quoteChar) {
      if (text[i + 1] === quoteChar) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return text.length;
}

function lineEnd(text: string, start: number): number {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.length : end;
}

/** The end of a `$tag$ … $tag$` string starting at `start`, or just past a lone `$`. */
function dollarQuoteEnd(text: string, start: number): number {
  const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(start));
  if (!tag) return start + 1;
  const end = text.indexOf(tag[0], start + tag[0].length);
  return end === -1 ? text.length : end + tag[0].length;
}

function textOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
      if (Array.isArray(value)) return arrayText(value);
      return JSON.stringify(value);
    default:
      throw new TypeError(`cannot pass a ${typeof value} as an SQL parameter`);
  }
}

/** PostgreSQL's array input format: `{"a","b",NULL}`, nested arrays for more dimensions. */
function arrayText(values: readonly unknown[]): string {
  const elements = values.map((element) => {
    if (element === null || element === undefined) return 'NULL';
    if (Array.isArray(element)) return arrayText(element);
    return `"${textOf(element).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  });
  return `{${elements.join(',')}}`;
}

function quote(text: string): string {
  if (text.includes('\u0000')) throw new TypeError('SQL text cannot contain NUL characters');
  return `'${text.replaceAll("'", "''")}'`;
}
