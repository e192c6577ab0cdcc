/**
 * @module plugins/runtime/isolation-probe
 * Which of the operating system's protections a plugin process can get on this machine (docs/security.md "Plugins"):
 * `prlimit` (CPU seconds, no file growth, few descriptors, a cap on the data segment: Buffers and native memory), an
 * unprivileged user + network namespace through `unshare` (no network), and bubblewrap (`bwrap`: the file boundary,
 * file-boundary.ts, which makes the network namespace itself when it is there). Probed once per process and cached; the
 * supervisor asks before it starts an unverified plugin and refuses to start one whose protections are missing
 * unless `plugins.allowWeakIsolation` says otherwise. Tests inject another probe to play a machine without them.
 * The plugin runtime warms the cache first (`warmIsolationProbe`, child processes awaited, not run synchronously): the
 * trial runs take 0.1–0.2 s, which the synchronous probe would spend with the node's event loop stopped.
 */
import { spawn, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { existsSync } from "node:fs";
import { fileBoundaryArgs } from "./file-boundary.js";

/** The programs that give a plugin process its protections here; null: not available on this machine. */
export interface IsolationTools {
  prlimit: string | null;
  /** unshare, only when it can make an unprivileged user and network namespace here. */
  unshare: string | null;
  /** bwrap, only when a trial run of Node inside the plugin's file boundary worked here. */
  bwrap: string | null;
}

export type IsolationProbe = () => IsolationTools;

const PRLIMIT_PATHS = ["/usr/bin/prlimit", "/bin/prlimit"];
const UNSHARE_PATHS = ["/usr/bin/unshare", "/bin/unshare"];
const BWRAP_PATHS = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];

/** A kernel or AppArmor policy can refuse unprivileged namespaces although the program exists: the trial run. */
const UNSHARE_TRIAL = ["--user", "--map-root-user", "--net", "--", "true"];

/**
 * Runs Node inside the boundary a plugin gets (Node's own folder standing in for the host script and the plugin's): the
 * program exists, the kernel allows its namespaces, and Node starts with only those files.
 */
function bwrapTrialArgs(): string[] {
  return [...fileBoundaryArgs({ host: process.execPath, folder: dirname(process.execPath), network: false }), "--", process.execPath, "-e", "0"];
}

const installed = (paths: readonly string[]) => paths.find((candidate) => existsSync(candidate));

/** A trial run: the program protects plugins here when this exits 0 within 5 s. */
interface Trial {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** What is installed, and the trial runs that decide whether unshare and bwrap work here. One list for both ways of running them. */
function trials(): { prlimit: string | null; unshare: Trial | null; bwrap: Trial | null } {
  const unshare = installed(UNSHARE_PATHS);
  const bwrap = installed(BWRAP_PATHS);
  return {
    prlimit: installed(PRLIMIT_PATHS) ?? null,
    unshare: unshare ? { command: unshare, args: UNSHARE_TRIAL } : null,
    bwrap: bwrap ? { command: bwrap, args: bwrapTrialArgs(), env: {} } : null,
  };
}

const spawnOptions = (trial: Trial) => ({ stdio: "ignore" as const, timeout: 5_000, ...(trial.env ? { env: trial.env } : {}) });

/** Runs the trials synchronously (uncached). */
export function detectIsolationSync(): IsolationTools {
  const { prlimit, unshare, bwrap } = trials();
  const works = (trial: Trial | null) => (trial && spawnSync(trial.command, trial.args, spawnOptions(trial)).status === 0 ? trial.command : null);
  return { prlimit, unshare: works(unshare), bwrap: works(bwrap) };
}

/** The same answer as `detectIsolationSync`, with the trials awaited as child processes (uncached). */
export async function detectIsolation(): Promise<IsolationTools> {
  const { prlimit, unshare, bwrap } = trials();
  const works = (trial: Trial | null) =>
    new Promise<string | null>((resolve) => {
      if (!trial) return resolve(null);
      const child = spawn(trial.command, trial.args, spawnOptions(trial));
      child.once("error", () => resolve(null));
      child.once("exit", (code) => resolve(code === 0 ? trial.command : null));
    });
  const [unshareWorks, bwrapWorks] = await Promise.all([works(unshare), works(bwrap)]);
  return { prlimit, unshare: unshareWorks, bwrap: bwrapWorks };
}

let probed: IsolationTools | undefined;
let warming: Promise<void> | undefined;

/** The real probe (production's): the machine's answer, found once and cached. */
export const probeIsolation: IsolationProbe = () => (probed ??= detectIsolationSync());

/** Fills `probeIsolation`'s cache without blocking the event loop (the plugin runtime calls it before a start). */
export function warmIsolationProbe(): Promise<void> {
  if (probed) return Promise.resolve();
  return (warming ??= detectIsolation().then((tools) => {
    probed ??= tools;
  }));
}

/**
 * What a plugin process would go without here, each naming the protection and how to get it; empty when nothing is
 * missing. `network: true` (a system plugin with a network permission) needs no network namespace. bwrap makes its own
 * network namespace, so with it unshare is not needed.
 */
export function missingProtections(tools: IsolationTools, options: { network: boolean }): string[] {
  const missing: string[] = [];
  if (!tools.prlimit) {
    missing.push("prlimit is missing, so its CPU, file-size and memory (RLIMIT_DATA) limits cannot be set: install util-linux (apt-get install util-linux)");
  }
  if (!tools.bwrap) {
    missing.push(
      "bubblewrap (bwrap) is missing or cannot make its namespaces here, so only Node's permission model (no security boundary) keeps it from the node's files: " +
        "install it (apt-get install bubblewrap) and allow unprivileged user namespaces (as for unshare below)",
    );
  }
  if (!options.network && !tools.unshare && !tools.bwrap) {
    missing.push(
      "unprivileged user namespaces are not available, so it would share the node's network: install util-linux's unshare and allow them " +
        "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 23.10+ kernel.apparmor_restrict_unprivileged_userns=0; in a container, a seccomp profile that allows unshare/clone with CLONE_NEWUSER)",
    );
  }
  return missing;
}
