/**
 * @module bench/lib/proc-stats
 * CPU and memory of another process from /proc, so each phase can say how busy the server (or etcd)
 * was, next to the load generator's own CPU. CPU is reported as % of one core (machine max = cores×100).
 */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ is 100 on every Linux build Node supports

/** utime+stime of `pid` in ms, or NaN when /proc is not readable. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set size of `pid` in MB, or NaN. */
export function processRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Starts a CPU meter over the server process and this (load-generator) process.
 * `stop()` returns both as % of one core over the elapsed wall time.
 */
export function cpuMeter(serverPid) {
  const startWall = performance.now();
  const startServer = processCpuMs(serverPid);
  const startSelf = process.cpuUsage();
  return {
    stop() {
      const wallMs = performance.now() - startWall;
      const self = process.cpuUsage(startSelf);
      return {
        serverCpuPct: ((processCpuMs(serverPid) - startServer) / wallMs) * 100,
        clientCpuPct: ((self.user + self.system) / 1000 / wallMs) * 100,
      };
    },
  };
}

/**
 * Accumulates CPU over several short windows (fan-out repetitions), so idle gaps between them do not
 * dilute the figure.
 */
export function windowedCpu(serverPid) {
  let wallMs = 0;
  let serverMs = 0;
  let clientMs = 0;
  let open = null;
  return {
    begin() {
      open = { wall: performance.now(), server: processCpuMs(serverPid), self: process.cpuUsage() };
    },
    end() {
      if (!open) return;
      const self = process.cpuUsage(open.self);
      wallMs += performance.now() - open.wall;
      serverMs += processCpuMs(serverPid) - open.server;
      clientMs += (self.user + self.system) / 1000;
      open = null;
    },
    result() {
      return { serverCpuPct: (serverMs / wallMs) * 100, clientCpuPct: (clientMs / wallMs) * 100 };
    },
  };
}
