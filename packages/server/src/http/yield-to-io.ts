/**
 * @module http/yield-to-io
 * A route-level `onRequest` hook for the registry's hottest writes (registrations, heartbeats): the rest of the
 * request's handling (body, validation, the registry's work up to the store's queue) runs in the event loop's check
 * phase, after the I/O callbacks that were ready together with it.
 *
 * Why: in one poll phase libuv runs the read callback of every socket that has data, and each request was handled
 * there to its end, ~150 µs each under load. A storage reply that became ready in the same phase (the PostgreSQL
 * connection's answer to a batch, the SQLite writer thread's message that a batch committed) waited behind all of
 * them, and with it every write of that batch: a batch's lock-and-read answer was handled 6–7 ms after PostgreSQL sent
 * it (0.45 ms of work there), and the event loop then sat idle while the next batch ran in PostgreSQL (19–24 % of a
 * registration run). Yielding once lets every ready callback run cheaply first, so the group commit is fed as soon as
 * its store answers. Measured in one server, the hook on and off every 700 ms (45 s at 256 in flight): registrations
 * +6 to +12 % on PostgreSQL and +8 to +13 % on SQLite, heartbeats +18 % and +25 % (docs/benchmarks.md). The cost is one
 * `setImmediate` per request.
 */
import type { onRequestHookHandler } from "fastify";

export const yieldToIo: onRequestHookHandler = (_request, _reply, done) => {
  setImmediate(done);
};
