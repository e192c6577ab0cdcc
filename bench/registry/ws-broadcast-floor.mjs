/**
 * @module bench/registry/ws-broadcast-floor
 * Phase 4's baseline column: the fan-out bench (ws-fanout.mjs, the same subscribers in the same worker threads)
 * against a bare `ws` broadcast server (ws-broadcast-server.mjs) instead of ours. What that takes is the cost of
 * N WebSocket writes on this machine (on loopback, each write also runs the receiving side's TCP path); ours/floor
 * says what the registry adds on top.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { wsFanout } from "./ws-fanout.mjs";

const SERVER = fileURLToPath(new URL("./ws-broadcast-server.mjs", import.meta.url));

/** Starts the floor server; answers `{ url, pid, stop }`. */
export async function startBroadcastFloor() {
  const child = spawn(process.execPath, [SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let seen = "";
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = /listening (\d+)/.exec(seen);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the broadcast floor server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** The fan-out figure of a bare `ws` broadcast with `settings`' subscribers and reps. */
export async function wsBroadcastFloor(settings, log) {
  const floor = await startBroadcastFloor();
  try {
    const result = await wsFanout(floor, "floor", settings, (line) => log(line.replace("ours", "bare ws broadcast")));
    return result;
  } finally {
    await floor.stop();
  }
}
