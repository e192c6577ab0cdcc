/**
 * @module storage/sqlite/store-hooks
 * What each part of the SQLite backend (leases, tokens, node settings, vault, federation) gets from the
 * backend that owns the connection (sqlite-store.ts): a way into its one group-commit batcher, so that the
 * writes of every part share commits and fsyncs, and the check that the backend is still open.
 */

export interface SqliteStoreHooks {
  /**
   * Queues synchronous work into the next batch transaction, as one atomic entry; resolves once durable. The work
   * may run twice (the batch's savepoint-free attempt is rolled back and re-run when another write in it throws): it
   * must have no effect outside SQLite.
   */
  enqueue<T>(work: () => T): Promise<T>;
  /**
   * The same for work that has effects outside SQLite (the vault's transactions run the caller's callback, which
   * keeps counters in memory): it runs exactly once, in a savepoint of its own.
   */
  enqueueOnce<T>(work: () => T): Promise<T>;
  /** Throws when the backend is closed. */
  assertOpen(): void;
}
