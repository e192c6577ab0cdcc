/**
 * The node's SQLite files are its user's alone (0600): the database holds password hashes, token and session digests
 * and the sealed vault. SQLite makes a database 0644, so on a data directory others may enter (made at 0755 by an
 * operator or a container volume) any local user could read them. A new database and its WAL, shared memory and
 * lock files are made 0600; those of a node made before are tightened at its next start.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory anyone may enter, as `mkdir` makes one under the usual umask. */
function openDataDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "kai-private-")), "data");
  dirs.push(dir);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

/** Each `kai.db*` file of `dir` with its permission bits. */
function modes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).filter((name) => name.startsWith("kai.db")).map((name) => [name, (statSync(join(dir, name)).mode & 0o777).toString(8)]));
}

describe("the SQLite files of a node", () => {
  it("are made readable by the node's user only: the database, its WAL and shared memory, the lock", async () => {
    const dir = openDataDir();
    const store = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    try {
      await store.setMeta("private-test", "written");
      const seen = modes(dir);
      expect(Object.keys(seen)).toEqual(expect.arrayContaining(["kai.db", "kai.db-wal", "kai.db-shm", "kai.db.lock"]));
      for (const [name, mode] of Object.entries(seen)) expect(mode, name).toBe("600");
    } finally {
      await store.close();
    }
  });

  it("are tightened when a node made before this opens them again, and what they hold is kept", async () => {
    const dir = openDataDir();
    const first = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    await first.setMeta("private-test", "kept");
    await first.close();
    for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
    const again = await openStore({ kind: "sqlite", path: join(dir, "kai.db") });
    try {
      for (const [name, mode] of Object.entries(modes(dir))) expect(mode, name).toBe("600");
      expect(await again.getMeta("private-test")).toBe("kept");
    } finally {
      await again.close();
    }
  });
});
