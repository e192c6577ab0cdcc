/**
 * @module storage/sqlite/writer-thread
 * Runs the statements of service writes, and their COMMIT, on a second connection in a worker thread,
 * so that the event loop serves HTTP while SQLite writes B-tree pages to the WAL and fsyncs it. Profiles
 * of registrations under load put about 45 % of the event loop's time in those statements and the COMMIT
 * (a registration dirties ~10 pages of random B-tree leaves: ~40 KiB of WAL).
 *
 * The thread is deliberately dumb: it gets a list of planned statements (write-statements.ts) and runs
 * them in one transaction, then says whether it committed. Every decision (revisions, conflicts, which
 * tag rows to change) is made on the main thread by the store, which is the only one to hand it work, in
 * order (at most the transaction being committed and the next, planned on top of it: write-batcher.ts); so
 * the main thread knows exactly the state the thread will write on top of, and answers only after the
 * thread's COMMIT returned (durable per `synchronous`). After a failed transaction the thread refuses the
 * ones already sent until the main thread says `resume`: those were planned on top of the failed one.
 *
 * The worker's code is a short inline script (`eval`) for the reason given in background-checkpointer.ts:
 * it must run from `dist/` and from TypeScript sources under the test runner.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { WRITE_SQL, type WriteOp } from "./write-statements.js";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const statements = {};
for (const [name, variants] of Object.entries(workerData.sql)) statements[name] = variants.map((sql) => db.prepare(sql));
const begin = db.prepare("BEGIN IMMEDIATE");
const commit = db.prepare("COMMIT");
const rollback = db.prepare("ROLLBACK");
// After a failed transaction, the ones already sent were planned on top of it: refused until "resume".
let refusing = false;
parentPort.on("message", (message) => {
  if (message.type === "close") {
    db.close();
    parentPort.postMessage({ type: "closed" });
    return;
  }
  if (message.type === "resume") {
    refusing = false;
    return;
  }
  if (refusing) {
    parentPort.postMessage({ type: "failed", id: message.id, message: "not run: planned after a transaction that failed" });
    return;
  }
  try {
    begin.run();
    for (const [name, variant, params] of message.ops) statements[name][variant].run(params);
    commit.run();
    parentPort.postMessage({ type: "done", id: message.id });
  } catch (error) {
    try {
      if (db.inTransaction) rollback.run();
    } catch {}
    refusing = true;
    parentPort.postMessage({ type: "failed", id: message.id, message: String((error && error.message) || error), code: error && error.code });
  }
});
`;

/** A transaction the writer thread rolled back; `code` is SQLite's (e.g. SQLITE_FULL) when it had one. */
export class WriterThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "WriterThreadError";
  }
}

type Reply = { type: "done"; id: number } | { type: "failed"; id: number; message: string; code?: string } | { type: "closed" };

export interface WriterThreadOptions {
  path: string;
  /** The connection settings (open-database.ts `connectionPragmas`). */
  pragmas: string[];
  /** Told once if the thread fails or stops unexpectedly (the store's logger); every write fails from then on. */
  onError?: (message: string) => void;
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 1;
  /** Set once the thread is gone (crashed or closed): every later transaction fails with it. */
  private stopped: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: WriterThreadOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: options.path, pragmas: options.pragmas, sql: WRITE_SQL, driver } });
    // Referenced only while a transaction is out (see run): an idle store must not keep the process alive.
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      if (reply.type === "closed") return;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.type === "done") waiter.resolve();
      else waiter.reject(new WriterThreadError(reply.message, reply.code));
    });
    this.worker.on("error", (error) => this.fail(new WriterThreadError(`the SQLite writer thread failed: ${error.message}`, undefined), options.onError));
    this.worker.on("exit", () => this.fail(new WriterThreadError("the SQLite writer thread stopped", undefined), this.closing ? undefined : options.onError));
  }

  /** Runs `ops` in one transaction; resolves once it committed, rejects (nothing written) otherwise. */
  run(ops: WriteOp[]): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: "run", id, ops });
    });
  }

  /**
   * After a transaction failed, the thread refuses every transaction handed over before this call (they were
   * planned on top of the one that failed); the ones handed over after it run.
   */
  resume(): void {
    if (!this.stopped) this.worker.postMessage({ type: "resume" });
  }

  /** Closes the thread's connection and ends it; transactions already handed over finish first. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.worker.once("exit", () => resolve());
      this.worker.on("message", (reply: Reply) => {
        if (reply.type === "closed") void this.worker.terminate();
      });
      this.worker.ref();
      this.worker.postMessage({ type: "close" });
    });
    return this.closing;
  }

  private fail(error: Error, report?: (message: string) => void): void {
    if (!this.stopped) report?.(error.message);
    this.stopped ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.stopped);
    this.pending.clear();
  }
}
