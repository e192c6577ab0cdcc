/**
 * @module test/helpers/pgvector-server
 * A PostgreSQL with pgvector for tests, in this process: PGlite (PostgreSQL compiled to WebAssembly, the
 * `@electric-sql/pglite` devDependency) with the `vector` extension (`@electric-sql/pglite-pgvector`, pgvector 0.8
 * with iterative index scans), served over the PostgreSQL wire protocol on a free loopback port by
 * `@electric-sql/pglite-socket`, so the node's ordinary `pg` driver connects to it as to any server. Nothing to
 * install beyond `npm install` (the system PostgreSQL the other tests start has no `vector` extension).
 *
 * PGlite is one session: pglite-socket multiplexes several client connections onto it, running one statement at a
 * time and keeping an open transaction's statements to its own connection; session settings (`SET`) would leak
 * between connections, which is why the pgvector index only ever uses `SET LOCAL` inside its transactions.
 * `halt()` closes the socket (every client connection is cut, as when a server goes away) and keeps the data;
 * `resume()` listens again on the same port with the same data. `vector: false` starts one without pgvector.
 */
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { freePort } from "./server-process.js";

export interface PgvectorServer {
  readonly port: number;
  /** The connection URL (PGlite has one database, `postgres`; any user and password are accepted). */
  readonly url: string;
  /** Cuts every connection and stops listening; the data stays (`resume` brings it back). */
  halt(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  /** Stops listening and closes the database. */
  stop(): Promise<void>;
}

/** Client connections served at once (multiplexed onto PGlite's one session). */
const MAX_CONNECTIONS = 64;

export interface StartPgvectorOptions {
  /** False: a PostgreSQL without the pgvector package (what a start on a server lacking it meets). Default true. */
  vector?: boolean;
}

/**
 * A fresh PGlite runs initdb, most of its start (seconds); its data folder right after (with the extension created)
 * is kept as a tar file in the temporary folder, named by PGlite's version, and later starts load it instead.
 */
async function openDatabase(withVector: boolean): Promise<PGlite> {
  const extensions = withVector ? { extensions: { vector } } : {};
  // Its package.json is not exported: found beside the resolved entry (dist/index.cjs).
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const version = (JSON.parse(await readFile(join(dirname(entry), "..", "package.json"), "utf8")) as { version: string }).version;
  const cached = join(tmpdir(), `kai-test-pglite-${version}-${withVector ? "pgvector" : "plain"}.tar`);
  if (existsSync(cached)) {
    try {
      return await PGlite.create({ ...extensions, loadDataDir: new Blob([await readFile(cached)]) });
    } catch {
      // A damaged file: made again below.
    }
  }
  const db = await PGlite.create(extensions);
  if (withVector) await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
  try {
    const dump = await db.dumpDataDir("none");
    // Written under a name of its own, then renamed: a file running tests read is always whole.
    const partial = `${cached}.${process.pid}.${Date.now()}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, cached);
  } catch {
    // Only a cache.
  }
  return db;
}

export async function startPgvectorServer(options: StartPgvectorOptions = {}): Promise<PgvectorServer> {
  const db = await openDatabase(options.vector ?? true);
  const port = await freePort();
  let socket: PGLiteSocketServer | null = null;
  const listen = async () => {
    socket = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: MAX_CONNECTIONS });
    await socket.start();
  };
  await listen();
  const halt = async () => {
    const current = socket;
    socket = null;
    await current?.stop();
  };
  return {
    port,
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    halt,
    async resume() {
      if (!socket) await listen();
    },
    async stop() {
      await halt();
      await db.close();
    },
  };
}
