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
  printable(value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));

/**
 * Text from the service or the caller made one line: line breaks and other control characters are
 * shown escaped. A line the command prints then never starts a new one, so a name or a refusal's
 * code cannot become a CI runner's workflow command (GitHub's `::stop-commands::`, `::warning::`).
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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
