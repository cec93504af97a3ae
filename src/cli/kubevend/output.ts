import { CliError } from './exit.ts';

export const outputs = ['table', 'json', 'ndjson', 'csv'] as const;
export type Output = (typeof outputs)[number];

export function outputOf(value: string | undefined, fallback: Output = 'table'): Output {
  const output = (value ?? fallback) as Output;
  if (!outputs.includes(output)) throw new CliError('usage', `--output is one of ${outputs.join(', ')}`);
  return output;
}

export type Row = Record<string, unknown>;

/** One column: its heading and how a row shows in it. */
export type Column = [heading: string, value: (row: Row) => unknown];

const cell = (value: unknown): string =>
  value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);

/** Rows as a table for people, CSV (RFC 4180) for spreadsheets, or JSON / NDJSON for programs. */
export function render(rows: Row[], columns: Column[], output: Output, header = true): string {
  if (output === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (output === 'ndjson') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  const cells = rows.map((r) => columns.map(([, value]) => cell(value(r))));
  const headings = columns.map(([heading]) => heading);
  if (output === 'csv') {
    const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    return [...(header ? [headings] : []), ...cells].map((line) => `${line.map(quote).join(',')}\r\n`).join('');
  }
  const table = header ? [headings, ...cells] : cells;
  const widths = headings.map((_, i) => Math.max(...[headings, ...cells].map((line) => line[i]!.length)));
  return table.map((line) => `${line.map((v, i) => (i === line.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')}\n`).join('');
}
