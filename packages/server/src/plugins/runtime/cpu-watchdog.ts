/**
 * @module plugins/runtime/cpu-watchdog
 * A plugin's CPU share, measured from outside (issue 18, docs/security.md "Plugins"). prlimit's RLIMIT_CPU counts a
 * process's CPU seconds over its whole life: a legitimately busy plugin that runs for days reaches it at last, and a
 * hostile one may hold a core at 100% until it does. This watchdog bounds the rate instead: every `sampleMs` it reads
 * the CPU time of the plugin's whole process tree from /proc (prlimit → bwrap → bwrap's init → node, and anything a
 * plugin that escaped Node's permission model started), and when the tree used more than `percent` of one CPU on
 * average over the last `windowMs`, it calls `onBreach` (the process then stops the plugin like one past its memory).
 *
 * The numbers are the kernel's (`/proc/<pid>/stat`: utime + stime of each live process in the tree, plus cutime +
 * cstime, what its reaped children used), never anything the plugin reports: the plugin is not trusted. Where /proc
 * is missing (not Linux) the watchdog measures nothing and says so (`available`); RLIMIT_CPU is then the only bound.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

export interface CpuWatchdogOptions {
  /** The process at the top of the plugin's tree (the one the node spawned). */
  rootPid: number;
  /** The most of one CPU the tree may use on average over the window, percent (200: two cores). */
  percent: number;
  /** The window the average is taken over, ms: a burst shorter than it is allowed. */
  windowMs: number;
  /** How often the tree is read, ms. */
  sampleMs: number;
  /** Called once, with the share it used (percent of one CPU) over the window that broke the limit. */
  onBreach(usedPercent: number): void;
}

let ticksPerSecond: number | undefined;
/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux when that cannot run). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 2_000, stdio: ["ignore", "pipe", "ignore"] }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** True where the watchdog can measure (Linux's /proc). */
export function cpuWatchdogAvailable(): boolean {
  return existsSync("/proc/self/stat");
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/** Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so fields are read after the last `)`. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(" ");
  // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17), 1-based as in proc(5).
  const ppid = Number(fields[1]);
  const times = [fields[11], fields[12], fields[13], fields[14]].map(Number);
  if (!Number.isInteger(ppid) || times.some((value) => !Number.isFinite(value))) return null;
  return { ppid, ticks: times.reduce((sum, value) => sum + value, 0) };
}

/** A process's children, from each of its threads' `children` file; null where the kernel has none (or the process is gone). */
async function childrenOf(pid: number): Promise<number[] | null> {
  const threads = await readdir(`/proc/${pid}/task`).catch(() => null);
  if (threads === null) return null;
  const lists = await Promise.all(threads.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch(() => null)));
  if (lists.some((list) => list === null)) return null;
  return lists.flatMap((list) => list!.split(" ").filter(Boolean).map(Number));
}

async function statOf(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return text === null ? null : parseProcStat(text);
}

/** One process as a tree walk sees it: its ticks and its children, or null when it is gone. */
type ProcessLookup = (pid: number) => Promise<{ ticks: number; children: number[] } | null>;

/**
 * The ticks of the tree under `rootPid`; -1 when the root is gone. A process gone between its parent's list and its
 * own read is passed over: once reaped, its time is in the parent's cutime.
 */
async function sumTree(rootPid: number, lookup: ProcessLookup): Promise<number> {
  let ticks = 0;
  const queue = [rootPid];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const found = await lookup(pid);
    if (found === null) {
      if (pid === rootPid) return -1;
      continue;
    }
    ticks += found.ticks;
    queue.push(...found.children);
  }
  return ticks;
}

class NoChildrenFiles extends Error {}

/**
 * Walking down from the root through the `children` files: a few reads for a plugin's three or four processes, where
 * a scan of all of /proc reads every process on the machine each second, per plugin. Null when a `children` file is
 * missing (a kernel without CONFIG_PROC_CHILDREN): the caller then scans.
 */
async function walkTreeTicks(rootPid: number): Promise<number | null> {
  try {
    return await sumTree(rootPid, async (pid) => {
      const [stat, children] = await Promise.all([statOf(pid), childrenOf(pid)]);
      if (stat === null) return null;
      if (children === null) throw new NoChildrenFiles();
      return { ticks: stat.ticks, children };
    });
  } catch (error) {
    if (error instanceof NoChildrenFiles) return null;
    throw error;
  }
}

/** The tree's ticks from a scan of every process in /proc (where `children` files are missing). */
async function scanTreeTicks(rootPid: number): Promise<number> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  const stats = new Map<number, ProcStat>();
  await Promise.all(entries.filter((name) => /^\d+$/.test(name)).map(async (name) => {
    const stat = await statOf(Number(name));
    if (stat) stats.set(Number(name), stat);
  }));
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  return sumTree(rootPid, async (pid) => {
    const stat = stats.get(pid);
    return stat ? { ticks: stat.ticks, children: children.get(pid) ?? [] } : null;
  });
}

/** The CPU seconds the tree under `rootPid` used so far (live processes and what they reaped); null when the root is gone. */
export async function treeCpuSeconds(rootPid: number): Promise<number | null> {
  const ticks = (await walkTreeTicks(rootPid)) ?? (await scanTreeTicks(rootPid));
  return ticks < 0 ? null : ticks / clockTicks();
}

/** Watches one plugin's tree until `stop` (or its first breach). */
export class CpuWatchdog {
  private readonly samples: Array<{ at: number; seconds: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private stopped = false;

  constructor(private readonly options: CpuWatchdogOptions) {}

  start(): void {
    if (this.timer || this.stopped || !cpuWatchdogAvailable()) return;
    this.timer = setInterval(() => void this.sample(), this.options.sampleMs);
    this.timer.unref();
    void this.sample();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    // A slow /proc read (a loaded machine) is not stacked on another.
    if (this.reading || this.stopped) return;
    this.reading = true;
    try {
      const seconds = await treeCpuSeconds(this.options.rootPid);
      if (seconds === null || this.stopped) return;
      const at = Date.now();
      this.samples.push({ at, seconds });
      // Keep the newest sample that is at least a window old (the window's start) and everything after it.
      while (this.samples.length > 2 && at - this.samples[1]!.at >= this.options.windowMs) this.samples.shift();
      const first = this.samples[0]!;
      const span = at - first.at;
      if (span < this.options.windowMs) return;
      const used = ((seconds - first.seconds) * 1000 * 100) / span;
      if (used > this.options.percent) {
        this.stop();
        this.options.onBreach(Math.round(used));
      }
    } finally {
      this.reading = false;
    }
  }
}
