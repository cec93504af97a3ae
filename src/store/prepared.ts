import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.ts';

// Building and compiling a kysely query costs more CPU than SQLite takes to run it. The queries of
// an issuance have one shape each, so they are compiled once, with a placeholder for every value,
// and each call only binds its values. The compiler is the dialect's own, so the SQL is the same
// as kysely would make on every call, on SQLite and on PostgreSQL alike.

type Executor = Kysely<Database>;

const marker = '\u0000kubevend-parameter:';

/**
 * A query of one fixed shape, compiled for `db`'s dialect. `build` writes it with `param(name)`
 * wherever a value goes (never with a value that changes the SQL, such as an undefined field or a
 * list). The function returned binds `values` by name and executes the query on `db`, or on `trx`,
 * a transaction of it.
 */
export function preparedQuery<Name extends string, Row = unknown>(
  db: Executor,
  build: (param: (name: Name) => never) => Compilable<Row>,
): (values: Readonly<Record<Name, unknown>>, trx?: Executor) => Promise<QueryResult<Row>> {
  const compiled: CompiledQuery<Row> = build((name) => `${marker}${name}` as never).compile();
  // Each parameter is either a placeholder, bound by name on every call, or a constant of the shape.
  const slots = compiled.parameters.map((p): { name: Name } | { constant: unknown } =>
    typeof p === 'string' && p.startsWith(marker) ? { name: p.slice(marker.length) as Name } : { constant: p },
  );
  const bind = (values: Readonly<Record<Name, unknown>>) =>
    slots.map((slot) => {
      if ('constant' in slot) return slot.constant;
      const value = values[slot.name];
      if (value === undefined) throw new Error(`prepared query: no value for "${slot.name}"`);
      return value;
    });
  return async (values, trx = db) => trx.executeQuery({ ...compiled, parameters: bind(values) });
}

/**
 * An insert into `table` of whole rows, every column given (null where empty): it is compiled from
 * the first row's columns, which every later row must have too.
 */
export function preparedInsert<Table extends keyof Database & string>(db: Executor, table: Table) {
  let insert: ReturnType<typeof preparedQuery<string>> | undefined;
  return (row: Database[Table], trx?: Executor) => {
    const values = row as unknown as Record<string, unknown>;
    insert ??= preparedQuery<string>(db, (param) =>
      db.insertInto(table).values(Object.fromEntries(Object.keys(values).map((column) => [column, param(column)])) as never),
    );
    return insert(values, trx);
  };
}
