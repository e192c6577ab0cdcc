/**
 * Searching the system log's files (log-search.ts) on files written here as the node writes them: the newest matches
 * across days and size rotations, oldest first; the window's days and `until`; the byte budget (an incomplete answer
 * that says from when it read); each line scrubbed and parsed as the live view would; other files left alone.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mergeSearches, searchLogFiles } from "./log-search.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kai-log-search-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (time: string, msg: string, fields: Record<string, unknown> = {}, level = 30) => JSON.stringify({ level, time, pid: 1, hostname: "h", service: "kai", msg, ...fields });
const write = (name: string, lines: string[]) => writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("searchLogFiles", () => {
  beforeEach(() => {
    write("system-2026-12-05.log", [line("2026-12-05T10:00:00.000Z", "old one", { trace_id: TRACE }), line("2026-12-05T11:00:00.000Z", "old other")]);
    write("system-2026-12-06.log", [line("2026-12-06T10:00:00.000Z", "middle one", { trace_id: TRACE })]);
    write("system-2026-12-06.1.log", [line("2026-12-06T20:00:00.000Z", "rotated one", { trace_id: TRACE }), "not json at all"]);
    write("system-2026-12-07.log", [line("2026-12-07T09:00:00.000Z", "new one", { trace_id: TRACE }), line("2026-12-07T09:30:00.000Z", "a warning", {}, 40)]);
    // Not the system log's: never read.
    write("notes.log", [line("2026-12-07T09:00:00.000Z", "an operator's note", { trace_id: TRACE })]);
  });

  it("finds the matches of every file, oldest first, across days and rotations", async () => {
    const found = await searchLogFiles(dir, { traceId: TRACE }, 10);
    expect(found.entries.map((entry) => entry.msg)).toEqual(["old one", "middle one", "rotated one", "new one"]);
    expect(found.entries.map((entry) => entry.seq)).toEqual([0, 1, 2, 3]);
    expect(found.complete).toBe(true);
    expect(found.files).toBe(4);
    expect(found.entries[0]!.fields).toEqual({ trace_id: TRACE });
  });

  it("keeps the newest `limit` and stops reading older files once it has them", async () => {
    const found = await searchLogFiles(dir, { traceId: TRACE }, 2);
    expect(found.entries.map((entry) => entry.msg)).toEqual(["rotated one", "new one"]);
    expect(found.files).toBe(2);
    expect(found.complete).toBe(true);
  });

  it("reads only the window's days, and no line after until", async () => {
    const found = await searchLogFiles(dir, { traceId: TRACE, since: "2026-12-06T00:00:00.000Z", until: "2026-12-06T12:00:00.000Z" }, 10);
    expect(found.entries.map((entry) => entry.msg)).toEqual(["middle one"]);
    expect(found.files).toBe(2);
    expect((await searchLogFiles(dir, { level: "warn" }, 10)).entries.map((entry) => entry.msg)).toEqual(["a warning"]);
  });

  it("stops at its byte budget and says from when it read", async () => {
    // Room for the two newest files, not the third.
    const budget = statSync(join(dir, "system-2026-12-07.log")).size + statSync(join(dir, "system-2026-12-06.1.log")).size;
    const found = await searchLogFiles(dir, { traceId: TRACE }, 10, budget);
    expect(found.complete).toBe(false);
    expect(found.files).toBe(2);
    expect(found.searchedFrom).toBe("2026-12-06T20:00:00.000Z");
    expect(found.entries.map((entry) => entry.msg)).toEqual(["rotated one", "new one"]);
  });

  it("scrubs a credential in a file's line as the live view does", async () => {
    write("system-2026-12-08.log", [line("2026-12-08T09:00:00.000Z", "leaked Bearer abcdefghijklmnop1234 here")]);
    const found = await searchLogFiles(dir, { q: "leaked" }, 10);
    expect(found.entries.map((entry) => entry.msg)).toEqual(["leaked Bearer [redacted] here"]);
  });

  it("passes over a file with nothing written yet (just made by a rotation)", async () => {
    writeFileSync(join(dir, "system-2026-12-07.1.log"), "");
    expect((await searchLogFiles(dir, { traceId: TRACE }, 10)).entries.map((entry) => entry.msg)).toEqual(["old one", "middle one", "rotated one", "new one"]);
  });

  it("answers nothing for a folder that does not exist", async () => {
    expect(await searchLogFiles(join(dir, "missing"), {}, 10)).toEqual({ entries: [], files: 0, scannedBytes: 0, complete: true });
  });
});

describe("mergeSearches", () => {
  const entry = (instance: string, time: string) => ({ seq: 5, time, level: "info" as const, msg: `${instance} at ${time}`, fields: {}, instance });

  it("merges by time, keeps the newest, and numbers them", () => {
    const merged = mergeSearches(
      { instance: "a", entries: [entry("a", "2026-12-07T01:00:00.000Z"), entry("a", "2026-12-07T03:00:00.000Z")], files: 1, scannedBytes: 10, complete: true },
      { entries: [entry("b", "2026-12-07T02:00:00.000Z")], searched: [{ instance: "b", files: 2, scannedBytes: 20, complete: true }] },
      2,
    );
    expect(merged.entries.map((line) => [line.msg, line.seq])).toEqual([["b at 2026-12-07T02:00:00.000Z", 0], ["a at 2026-12-07T03:00:00.000Z", 1]]);
    expect([merged.files, merged.scannedBytes, merged.complete, merged.searchedFrom]).toEqual([3, 30, true, undefined]);
  });

  it("when one instance stopped early, leaves out every instance's lines before where it stopped", () => {
    const merged = mergeSearches(
      { instance: "a", entries: [entry("a", "2026-12-05T00:00:00.000Z"), entry("a", "2026-12-07T00:00:00.000Z")], files: 3, scannedBytes: 10, complete: true },
      { entries: [entry("b", "2026-12-06T12:00:00.000Z")], searched: [{ instance: "b", files: 1, scannedBytes: 20, complete: false, searchedFrom: "2026-12-06T00:00:00.000Z" }] },
      10,
    );
    expect(merged.entries.map((line) => line.msg)).toEqual(["b at 2026-12-06T12:00:00.000Z", "a at 2026-12-07T00:00:00.000Z"]);
    expect([merged.complete, merged.searchedFrom]).toEqual([false, "2026-12-06T00:00:00.000Z"]);
  });
});
