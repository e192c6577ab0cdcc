/**
 * @module bench/lib/proc-stats
 * CPU and memory of another process from /proc, so each phase can say how busy the server (or etcd)
 * was, next to the load generator's own CPU. CPU is reported as % of one core (machine max = cores×100).
 * A database that runs as a process tree (PostgreSQL: a postmaster and one backend per connection) is
 * measured as the sum over the tree (`dbPid`), so the PostgreSQL column shows the server's and the database's CPU.
 */
import { readdirSync, readFileSync } from "node:fs";

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

/**
 * utime+stime of `rootPid` and every descendant alive now, plus the root's cutime+cstime (the CPU of children it
 * has reaped), in ms; NaN when /proc is not readable. Counting reaped children keeps the sum from dropping when a
 * backend or an autovacuum worker exits between two readings (PostgreSQL's postmaster reaps its own children).
 */
export function processTreeCpuMs(rootPid) {
  let entries;
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return NaN;
  }
  const children = new Map();
  const cpu = new Map();
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
      const own = Number(fields[11]) + Number(fields[12]);
      const reaped = Number(name) === rootPid ? Number(fields[13]) + Number(fields[14]) : 0;
      cpu.set(Number(name), ((own + reaped) * 1000) / TICKS_PER_SECOND);
    } catch {
      // exited while we were reading
    }
  }
  if (!cpu.has(rootPid)) return NaN;
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    total += cpu.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

const dbCpuMs = (dbPid) => (dbPid ? processTreeCpuMs(dbPid) : NaN);

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
 * Starts a CPU meter over the server process, the database's process tree (when `dbPid` is given) and
 * this (load-generator) process. `stop()` returns them as % of one core over the elapsed wall time
 * (`dbCpuPct` is NaN without a database process).
 */
export function cpuMeter(serverPid, dbPid) {
  const startWall = performance.now();
  const startServer = processCpuMs(serverPid);
  const startDb = dbCpuMs(dbPid);
  const startSelf = process.cpuUsage();
  return {
    stop() {
      const wallMs = performance.now() - startWall;
      const self = process.cpuUsage(startSelf);
      return {
        serverCpuPct: ((processCpuMs(serverPid) - startServer) / wallMs) * 100,
        dbCpuPct: ((dbCpuMs(dbPid) - startDb) / wallMs) * 100,
        clientCpuPct: ((self.user + self.system) / 1000 / wallMs) * 100,
      };
    },
  };
}

/**
 * Accumulates CPU over several short windows (fan-out repetitions), so idle gaps between them do not
 * dilute the figure.
 */
export function windowedCpu(serverPid, dbPid) {
  let wallMs = 0;
  let serverMs = 0;
  let dbMs = 0;
  let clientMs = 0;
  let open = null;
  return {
    begin() {
      open = { wall: performance.now(), server: processCpuMs(serverPid), db: dbCpuMs(dbPid), self: process.cpuUsage() };
    },
    end() {
      if (!open) return;
      const self = process.cpuUsage(open.self);
      wallMs += performance.now() - open.wall;
      serverMs += processCpuMs(serverPid) - open.server;
      dbMs += dbCpuMs(dbPid) - open.db;
      clientMs += (self.user + self.system) / 1000;
      open = null;
    },
    result() {
      return { serverCpuPct: (serverMs / wallMs) * 100, dbCpuPct: (dbMs / wallMs) * 100, clientCpuPct: (clientMs / wallMs) * 100 };
    },
  };
}
