/**
 * @module output
 * Everything the CLI prints goes through here: data on stdout (a table, key/value lines or JSON),
 * messages and errors on stderr. `--quiet` silences messages, never data or errors.
 */
import type { ReportedError } from "./cli-error.js";

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
}

export interface Output extends OutputOptions {
  /** Data for humans or scripts: one line on stdout. */
  line(text: string): void;
  /** Data as JSON on stdout (pretty for a single document). */
  document(value: unknown): void;
  /** One JSON document per line (NDJSON) on stdout, for streams. */
  jsonLine(value: unknown): void;
  /** A message for humans on stderr, dropped with --quiet. */
  info(text: string): void;
  /** A warning on stderr; printed even with --quiet because it may explain a later failure. */
  warn(text: string): void;
  /** Something the person must act on (an address to open), on stderr, printed even with --quiet. */
  notice(text: string): void;
  /** Prints a failure: `error: <message> (<code>)`, field details, and with --json the error body. */
  error(reported: ReportedError): void;
  table(headers: string[], rows: string[][]): void;
}

export function createOutput(options: OutputOptions, streams = { out: process.stdout, err: process.stderr }): Output {
  const { out, err } = streams;
  return {
    ...options,
    line: (text) => void out.write(`${text}\n`),
    document: (value) => void out.write(`${JSON.stringify(value, null, 2)}\n`),
    jsonLine: (value) => void out.write(`${JSON.stringify(value)}\n`),
    info: (text) => {
      if (!options.quiet) err.write(`${text}\n`);
    },
    warn: (text) => void err.write(`warning: ${text}\n`),
    notice: (text) => void err.write(`${text}\n`),
    error: ({ body }) => {
      const lines = [`error: ${body.error.message} (${body.error.code})`];
      for (const detail of body.error.details ?? []) lines.push(`  - ${detail.path}: ${detail.message}`);
      if (body.error.requestId) lines.push(`  request id: ${body.error.requestId}`);
      err.write(`${lines.join("\n")}\n`);
      if (options.json) err.write(`${JSON.stringify(body)}\n`);
    },
    table: (headers, rows) => void out.write(formatTable(headers, rows)),
  };
}

/** Left-aligned columns separated by two spaces; the last column is not padded (no trailing blanks). */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [headers, ...rows].map(render).join("\n") + "\n";
}

/** A cell for a list value: comma-separated, `-` when empty. */
export function listCell(values: readonly string[] | undefined): string {
  return values && values.length > 0 ? values.join(",") : "-";
}

/** A cell for an optional value. */
export function cell(value: string | number | boolean | null | undefined): string {
  return value === undefined || value === null || value === "" ? "-" : String(value);
}

/** Aligned `key: value` lines for a single object (status, get). */
export function formatKeyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`).join("\n") + "\n";
}
