/**
 * @module bench/lib/fsync-probe
 * How long one durable commit costs this disk: write 8 KB and fdatasync, a few hundred times, in the
 * temp dir where SQLite, PostgreSQL and etcd keep their data. Every durable write figure of the bench
 * (SQLite `full`, PostgreSQL synchronous_commit on, etcd's WAL) is bounded by commits per second ≈
 * 1000 / this latency × the writes each commit carries, so the report prints it beside them.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize } from "./stats.mjs";

/** `{ n, p50, p99, max }` in ms of `count` sequential 8 KB write + fdatasync. */
export function fsyncProbe(count = 300) {
  const dir = mkdtempSync(join(tmpdir(), "kai-bench-fsync-"));
  const fd = openSync(join(dir, "probe"), "w");
  const block = Buffer.alloc(8192, 1);
  const samples = [];
  try {
    for (let i = 0; i < count; i++) {
      const began = performance.now();
      // Appending, as a WAL does: each sync also writes the file's new size.
      writeSync(fd, block, 0, block.length, i * block.length);
      fdatasyncSync(fd);
      samples.push(performance.now() - began);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return summarize(samples);
}
