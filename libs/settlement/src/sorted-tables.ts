/** Code-unit order: the same on every machine and locale, unlike `localeCompare`. */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A two-level map, row key then column key, of running totals. */
export type Table<R extends string, C extends string | number, V> = Map<R, Map<C, V>>;

/** The value at (row, column), created by `init` on first touch. */
export function cellOrInit<R extends string, C extends string | number, V>(table: Table<R, C, V>, row: R, column: C, init: () => V): V {
  let columns = table.get(row);
  if (columns === undefined) {
    columns = new Map();
    table.set(row, columns);
  }
  let value = columns.get(column);
  if (value === undefined) {
    value = init();
    columns.set(column, value);
  }
  return value;
}

/** A map's keys in statement order: numbers ascending, strings by code unit. */
export const sortedKeys = <K extends string | number>(m: Map<K, unknown>): K[] =>
  [...m.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : byCodeUnit(String(a), String(b))));
