/**
 * @module output
 * Everything the CLI prints goes through here: data on stdout (a table, key/value lines or JSON),
 * messages and errors on stderr. `--quiet` silences messages, never data or errors.
 */
import type { FieldError } from "@kai/protocol";
import type { ReportedError } from "./cli-error.js";
import { progressLines, type ProgressLines } from "./progress-lines.js";

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
  /**
   * Rows under their column headers on stdout. With no rows, no header either: `empty` (what there is none of, e.g.
   * "no backups") on stderr as a message, so that a person is not left with a bare header line, and a script reading
   * stdout sees no rows either way.
   */
  table(headers: string[], rows: string[][], empty: string): void;
  /**
   * Step lines of a long local job on stderr (progress-lines.ts: a counting step rewritten in place on a terminal,
   * thinned out elsewhere), dropped with --quiet. Call `end()` before printing anything else, and when it fails.
   */
  steps(): ProgressLines;
}

/**
 * Control characters a terminal could act on: C0 (but tab and line feed), DEL and C1. Why the CLI replaces them in
 * everything it prints for people: it prints what others wrote (a service's name registered by any token with
 * `services:write`, a federation peer's records, a node heard on the LAN, a log line, an upstream model's answer), and
 * an escape sequence in it would be acted on by the terminal: recolour or hide text, rewrite the line, set the title,
 * write the clipboard. JSON output escapes C0 itself and is for programs.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- as above, with tab and line breaks
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text made safe for a terminal: control characters other than tab and line feed become U+FFFD. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, "\ufffd");
}

/**
 * A table cell or a value on its line, made safe and kept on one line: tabs and line breaks become spaces (a value
 * must not start a line of its own that reads like another field or row), other control characters U+FFFD.
 */
export function singleLine(text: string): string {
  return text.replace(CONTROL_OR_BREAK, (found) => (found === "\t" || found === "\n" || found === "\r" ? " " : "\ufffd"));
}

/** Where output goes: stdout and stderr, or anything that takes text (a test's capture). */
interface OutputStreams {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown; isTTY?: boolean };
}

export function createOutput(options: OutputOptions, streams: OutputStreams = { out: process.stdout, err: process.stderr }): Output {
  const { out, err } = streams;
  return {
    ...options,
    line: (text) => void out.write(`${terminalSafe(text)}\n`),
    document: (value) => void out.write(`${JSON.stringify(value, null, 2)}\n`),
    jsonLine: (value) => void out.write(`${JSON.stringify(value)}\n`),
    info: (text) => {
      if (!options.quiet) err.write(`${terminalSafe(text)}\n`);
    },
    warn: (text) => void err.write(`warning: ${terminalSafe(text)}\n`),
    notice: (text) => void err.write(`${terminalSafe(text)}\n`),
    error: ({ body }) => {
      // An error's message and details may quote what was sent (a name, a path): one line each, made safe.
      const lines = [`error: ${singleLine(body.error.message)} (${singleLine(body.error.code)})`];
      for (const detail of body.error.details ?? []) lines.push(`  - ${singleLine(detailPath(detail))}: ${singleLine(detail.message)}`);
      if (body.error.requestId) lines.push(`  request id: ${singleLine(body.error.requestId)}`);
      if (body.error.traceId) lines.push(`  trace id: ${singleLine(body.error.traceId)} (kai logs tail --trace ${singleLine(body.error.traceId)})`);
      err.write(`${lines.join("\n")}\n`);
      if (options.json) err.write(`${JSON.stringify(body)}\n`);
    },
    table: (headers, rows, empty) => {
      if (rows.length > 0) out.write(formatTable(headers, rows));
      else if (!options.quiet) err.write(`${empty}\n`);
    },
    steps: () => {
      if (options.quiet) return { line: () => undefined, end: () => undefined };
      const lines = progressLines({ write: (text) => void err.write(text), terminal: err.isTTY === true });
      return { line: (text) => lines.line(singleLine(text)), end: () => lines.end() };
    },
  };
}

/**
 * A detail's path as a person reads it: the entry's id, when the detail names one, after the list index it stands for
 * (`services.17345 (gen-17345).endpoint`), so that an entry of a long file is found by its id, not by counting. Only
 * here: `--json` keeps `path` and `entry` apart, for a program to split the path.
 */
export function detailPath(detail: FieldError): string {
  if (detail.entry === undefined) return detail.path;
  const segments = detail.path.split(".");
  const index = segments.findIndex((segment) => /^\d+$/.test(segment));
  if (index === -1) return `${detail.path} (${detail.entry})`;
  return [`${segments.slice(0, index + 1).join(".")} (${detail.entry})`, ...segments.slice(index + 1)].join(".");
}

/** Left-aligned columns separated by two spaces; the last column is not padded (no trailing blanks). */
export function formatTable(headers: string[], given: string[][]): string {
  const rows = given.map((row) => row.map(singleLine));
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

/** Widest value cell of a verification table (storage copy, backup verify and restore), characters. */
const VERIFICATION_CELL = 24;

/**
 * A long value (a DID, a registry epoch) cut short for a verification table, so that the table fits a terminal:
 * `--json` carries it in full, and the line after a copy or a restore names the node's DID.
 */
export function verificationCell(value: string): string {
  return value.length > VERIFICATION_CELL ? `${value.slice(0, VERIFICATION_CELL - 1)}…` : value;
}

/** Aligned `key: value` lines for a single object (status, get). */
export function formatKeyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)} ${singleLine(value)}`).join("\n") + "\n";
}
