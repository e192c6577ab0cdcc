/**
 * @module bench/lib/cleanup
 * Children (our server, etcd, fan-out workers) and temp dirs are tracked so that an error or Ctrl-C
 * mid-run still kills them and removes their data: the bench must not leave servers behind.
 */
import { rmSync } from "node:fs";

const live = new Set();

/** Tracks a child process and its temp dir; returns a function that forgets them (after a clean stop). */
export function trackChild(child, dir) {
  const entry = { child, dir };
  live.add(entry);
  return () => live.delete(entry);
}

function cleanupAll() {
  for (const { child, dir } of live) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    } catch {
      // already gone
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}

process.on("exit", cleanupAll);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the servers the bench started…`);
    cleanupAll();
    process.exit(130);
  });
}
