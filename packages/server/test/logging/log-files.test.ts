// The log files on a real file system: which lines go to logs/security and logs/agents, a new file per day and
// before one would pass its size, retention by the day in the name (at start and on each rotation), file and folder
// modes, and a restart appending to the day's newest file.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { belongsIn } from "../../src/logging/log-routing.js";
import { dayOf, parseLogFileName } from "../../src/logging/log-retention.js";
import { RotatingFile } from "../../src/logging/rotating-file.js";
import { eventually } from "../helpers/test-server.js";

const root = mkdtempSync(join(tmpdir(), "kai-log-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DAY = 86_400_000;
const DEV_FULL = existsSync("/dev/full");
if (!DEV_FULL) console.warn("[skipped] the full-disk case of log-files.test.ts needs /dev/full (Linux)");
const NOON = Date.UTC(2026, 11, 4, 12);
let dirs = 0;
const freshDir = () => join(root, `case-${++dirs}`, "system");
const line = (n: number, pad = 80) => `${JSON.stringify({ level: 30, n, msg: "x".repeat(pad) })}\n`;
const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

describe("belongsIn", () => {
  it("sends security-category lines to security and agent, task and plan lines to agents; everything to system", () => {
    const security = JSON.stringify({ level: 30, category: "security", event: "sign_in", msg: "security: sign_in" });
    const task = JSON.stringify({ level: 30, agent: "kCore:main", taskId: "t1", msg: "task failed" });
    const request = JSON.stringify({ level: 30, requestId: "r1", msg: "request" });
    // Text that merely mentions the key is escaped by pino, and is no match.
    const mention = JSON.stringify({ level: 30, msg: 'someone wrote "category":"security" and "taskId":"t"' });
    expect([security, task, request, mention].map((l) => belongsIn("system", l))).toEqual([true, true, true, true]);
    expect([security, task, request, mention].map((l) => belongsIn("security", l))).toEqual([true, false, false, false]);
    expect([security, task, request, mention].map((l) => belongsIn("agents", l))).toEqual([false, true, false, false]);
  });
});

describe("RotatingFile", () => {
  it("starts a new numbered file before one would pass its size, and keeps every line once, in order", async () => {
    const dir = freshDir();
    const file = new RotatingFile({ dir, name: "system", maxBytes: 1024, retentionDays: 30, now: () => NOON });
    for (let n = 0; n < 40; n++) file.write(line(n));
    await file.flush();
    expect(readdirSync(dir).length).toBeGreaterThanOrEqual(3);
    const names = readdirSync(dir).sort((a, b) => parseLogFileName("system", a)!.index - parseLogFileName("system", b)!.index);
    expect(names[0]).toBe("system-2026-12-04.log");
    expect(names[1]).toBe("system-2026-12-04.1.log");
    for (const name of names) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(1024);
    const all = names.map((name) => read(dir, name)).join("").split("\n").filter(Boolean).map((text) => (JSON.parse(text) as { n: number }).n);
    expect(all).toEqual([...Array(40).keys()]);
    // Private: the lines say who signed in from where.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of names) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it("has each line in the file when write returns (nothing held back for a crash to lose)", () => {
    const dir = freshDir();
    const file = new RotatingFile({ dir, name: "system", maxBytes: 1024 * 1024, retentionDays: 30, now: () => NOON });
    for (let n = 0; n < 3; n++) {
      file.write(line(n));
      // No flush and no wait: what an operator (or a crash report) reads right after the line was logged.
      expect(read(dir, "system-2026-12-04.log").split("\n").filter(Boolean)).toHaveLength(n + 1);
    }
  });

  // /dev/full (Linux) refuses every write with ENOSPC: a full disk without filling one. Elsewhere this case is skipped.
  it.skipIf(!DEV_FULL)("a file that cannot be written (a full disk: /dev/full) fails no write, is reported once, and holds at most 1 MiB", () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    symlinkSync("/dev/full", join(dir, "system-2026-12-04.log"));
    const reports: string[] = [];
    const file = new RotatingFile({ dir, name: "system", maxBytes: 64 * 1024 * 1024, retentionDays: 30, now: () => NOON, onTrouble: (message) => reports.push(message) });
    // 2 MiB of lines into a device that refuses every byte: none of them may throw at the caller.
    for (let n = 0; n < 8000; n++) expect(() => file.write(line(n, 200))).not.toThrow();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("ENOSPC");
    expect(reports[0]).toContain("system-2026-12-04.log");
    const held = (file as unknown as { current: { destination: { _len: number } } }).current.destination._len;
    expect(held).toBeLessThanOrEqual(1024 * 1024);
  });

  it("starts a new file when the UTC day changes, and deletes files past retention then", async () => {
    const dir = freshDir();
    let now = NOON;
    const file = new RotatingFile({ dir, name: "system", maxBytes: 1024 * 1024, retentionDays: 2, now: () => now });
    file.write(line(1));
    now += DAY;
    file.write(line(2));
    await file.flush();
    expect(readdirSync(dir)).toHaveLength(2);
    expect(read(dir, "system-2026-12-05.log")).toBe(line(2));
    expect(read(dir, "system-2026-12-04.log")).toBe(line(1));
    // Three days on, the first day's file is past two days' retention: the rotation removes it.
    now += 2 * DAY;
    file.write(line(3));
    await file.flush();
    await eventually(async () => !readdirSync(dir).includes("system-2026-12-04.log"));
    expect(readdirSync(dir).sort()).toEqual(["system-2026-12-05.log", "system-2026-12-07.log"]);
  });

  it("deletes files past retention at start, and leaves files not named like its own", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const today = dayOf(NOON);
    const old = ["system-2026-10-01.log", "system-2026-10-01.3.log", "system-2026-11-03.log"];
    const kept = ["system-2026-11-04.log", "system-2026-12-03.2.log", "kai.log", "notes.txt", "security-2026-01-01.log"];
    for (const name of [...old, ...kept]) writeFileSync(join(dir, name), "{}\n");
    const file = new RotatingFile({ dir, name: "system", maxBytes: 1024, retentionDays: 30, now: () => NOON });
    // The old ones are gone before the first line; today's file appears once opened.
    for (const name of old) expect(readdirSync(dir)).not.toContain(name);
    await file.flush();
    expect(readdirSync(dir).sort()).toEqual([...kept, `system-${today}.log`].sort());
  });

  it("appends to the day's newest file after a restart, or starts the next one when that is full", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "system-2026-12-04.log"), "x".repeat(2000));
    writeFileSync(join(dir, "system-2026-12-04.1.log"), line(0));
    const first = new RotatingFile({ dir, name: "system", maxBytes: 2000, retentionDays: 30, now: () => NOON });
    expect(first.path).toBe(join(dir, "system-2026-12-04.1.log"));
    first.write(line(1));
    await first.flush();
    expect(read(dir, "system-2026-12-04.1.log")).toBe(line(0) + line(1));
    const second = new RotatingFile({ dir, name: "system", maxBytes: 100, retentionDays: 30, now: () => NOON });
    expect(second.path).toBe(join(dir, "system-2026-12-04.2.log"));
    await second.flush();
  });
});
