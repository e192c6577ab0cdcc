/**
 * @module bench/etcd/etcd-process
 * Finds (or, as root, installs) the `etcd` binary and runs a fresh single-member etcd on free loopback
 * ports with a temporary data dir and default settings, exactly as the baseline measured it.
 * Each instance is killed and its data dir removed on stop (and on exit, should the bench crash).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForHttp } from "../lib/net.mjs";
import { trackChild } from "../lib/cleanup.mjs";

function which(command) {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * The path of `etcd` and its version line, installing the Debian package `etcd-server` when running
 * as root and it is missing. Returns `{ skip: reason }` when etcd cannot be had.
 */
export function ensureEtcd(log) {
  let path = which("etcd");
  if (!path) {
    if (process.getuid?.() !== 0) return { skip: "etcd is not installed and the bench is not root (apt-get install etcd-server)" };
    log("etcd not found: running `apt-get install -y etcd-server` (Debian's etcd 3.4)…");
    const install = spawnSync("apt-get", ["install", "-y", "etcd-server"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    });
    if (install.status !== 0) {
      return { skip: `apt-get install -y etcd-server failed (exit ${install.status}): ${(install.stderr || "").trim().split("\n").slice(-2).join(" ")}` };
    }
    log("etcd-server installed.");
    path = which("etcd");
    if (!path) return { skip: "etcd-server was installed but `etcd` is still not on PATH" };
  }
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim() ?? "?";
  return { path, version };
}

/** Starts a fresh etcd. Returns `{ pid, endpoint, metricsUrl, stop() }`. */
export async function startEtcd(binary) {
  const dir = mkdtempSync(join(tmpdir(), "kai-bench-etcd-"));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logPath = join(dir, "etcd.log");
  const logFd = openSync(logPath, "a");
  const child = spawn(
    binary,
    [
      "--name", "bench",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `bench=${peer}`,
    ],
    { stdio: ["ignore", logFd, logFd] },
  );
  closeSync(logFd);
  const untrack = trackChild(child, dir);
  let exited = false;
  child.once("exit", () => (exited = true));
  try {
    await waitForHttp(`${client}/health`, { isAlive: () => !exited });
  } catch (error) {
    const tail = readFileSync(logPath, "utf8").split("\n").slice(-5).join("\n");
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    untrack();
    throw new Error(`etcd did not start: ${error.message}\n${tail}`);
  }
  return {
    pid: child.pid,
    endpoint: `127.0.0.1:${clientPort}`,
    metricsUrl: `${client}/metrics`,
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      untrack();
    },
  };
}

/** etcd's WAL fsync and raft proposal counters, from its Prometheus /metrics. */
export async function etcdDiskCounters(metricsUrl) {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const value = (name) => {
      const match = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
      return match ? Number(match[1]) : NaN;
    };
    return {
      fsyncs: value("etcd_disk_wal_fsync_duration_seconds_count"),
      fsyncSeconds: value("etcd_disk_wal_fsync_duration_seconds_sum"),
      proposals: value("etcd_server_proposals_committed_total"),
    };
  } catch {
    return { fsyncs: NaN, fsyncSeconds: NaN, proposals: NaN };
  }
}
