/**
 * The backup's SQLite snapshot runs off the event loop (backup/vacuum-into-worker.ts): the node keeps answering
 * while a large database is copied, the copy is a whole database, and a failure is reported, not swallowed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { vacuumInto } from "../../src/backup/vacuum-into-worker.js";

const dir = mkdtempSync(join(tmpdir(), "kai-vacuum-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function seed(path: string, rows: number): void {
  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO item (body) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`row ${i} ${"x".repeat(200)}`);
  })();
  db.close();
}

describe("vacuumInto", () => {
  it("copies the whole database while the event loop keeps turning", async () => {
    const source = join(dir, "source.db");
    seed(source, 50_000);
    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    try {
      // A synchronous VACUUM INTO would hold the loop until the copy is done: no turn could happen before it resolves.
      await vacuumInto(source, join(dir, "copy.db"));
    } finally {
      clearInterval(ticker);
    }
    expect(turns).toBeGreaterThan(0);
    const copy = new BetterSqlite3(join(dir, "copy.db"), { readonly: true });
    try {
      expect(copy.prepare("SELECT count(*) AS n FROM item").get()).toEqual({ n: 50_000 });
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      copy.close();
    }
  });

  it("rejects with SQLite's reason when the target cannot be written, and leaves a file in its way alone", async () => {
    const source = join(dir, "small.db");
    seed(source, 10);
    await expect(vacuumInto(source, join(dir, "no-such-folder", "copy.db"))).rejects.toThrow(/unable to open/);
    const target = join(dir, "taken.db");
    writeFileSync(target, "not a database");
    await expect(vacuumInto(source, target)).rejects.toThrow(/not a database/);
    expect(readFileSync(target, "utf8")).toBe("not a database");
  });

  it("rejects when the source is missing", async () => {
    await expect(vacuumInto(join(dir, "absent.db"), join(dir, "never.db"))).rejects.toThrow();
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });
});
