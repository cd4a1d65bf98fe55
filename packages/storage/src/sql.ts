/** A parameterised statement: `text` with `$n` placeholders and their `values`. */
export interface SqlStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** An SQL identifier checked against `[a-z_][a-z0-9_]*`, safe to splice into statement text. */
export class SqlIdentifier {
  readonly name: string;
  readonly quoted: string;
  constructor(name: string) {
    this.name = name;
    if (!identifierPattern.test(name)) {
      throw new TypeError(`invalid SQL identifier ${JSON.stringify(name)}: use [a-z_][a-z0-9_]*`);
    }
    this.quoted = `"${name}"`;
  }
}

/** Statement text inserted verbatim. Only for text the program wrote, never for input. */
export class SqlRaw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type SqlValue = unknown;

/**
 * Tagged template that turns interpolations into `$n` parameters:
 * ``sql`select * from accounts where id = ${id}` `` → `{ text: '... id = $1', values: [id] }`.
 * Nested `sql` fragments are spliced with their parameters renumbered; `sql.id(name)` and
 * `sql.raw(text)` are spliced as text.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlStatement {
  let text = strings[0] ?? '';
  const params: unknown[] = [];
  values.forEach((value, index) => {
    if (value instanceof SqlIdentifier) text += value.quoted;
    else if (value instanceof SqlRaw) text += value.text;
    else if (isStatement(value)) {
      const offset = params.length;
      text += value.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
      params.push(...value.values);
    } else {
      params.push(value);
      text += `$${params.length}`;
    }
    text += strings[index + 1] ?? '';
  });
  return { text, values: params };
}

sql.id = (name: string): SqlIdentifier => new SqlIdentifier(name);
sql.raw = (text: string): SqlRaw => new SqlRaw(text);

function isStatement(value: unknown): value is SqlStatement {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SqlStatement).text === 'string' &&
    Array.isArray((value as SqlStatement).values)
  );
}

/** Normalises the two call forms of `Queryable.query`. */
export function toStatement(
  statement: SqlStatement | string,
  values?: readonly unknown[],
): SqlStatement {
  return typeof statement === 'string' ? { text: statement, values: values ?? [] } : statement;
}
