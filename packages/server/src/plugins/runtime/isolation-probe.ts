/**
 * @module plugins/runtime/isolation-probe
 * Which of the operating system's protections a plugin process can get on this machine (docs/security.md "Plugins"):
 * `prlimit` (CPU seconds, no file growth, few descriptors, a cap on the data segment: Buffers and native memory), an
 * unprivileged user + network namespace through `unshare` (no network), and bubblewrap (`bwrap`: the file boundary,
 * file-boundary.ts, which makes the network namespace itself when it is there). Probed once per process and cached; the
 * supervisor asks before it starts an unverified plugin and refuses to start one whose protections are missing
 * unless `plugins.allowWeakIsolation` says otherwise. Tests inject another probe to play a machine without them.
 */
import { spawnSync } from "node:child_process";
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

/**
 * Runs Node inside the boundary a plugin gets (Node's own folder standing in for the host script and the plugin's): the
 * program exists, the kernel allows its namespaces, and Node starts with only those files.
 */
function bwrapWorks(bwrap: string): boolean {
  const args = [...fileBoundaryArgs({ host: process.execPath, folder: dirname(process.execPath), network: false }), "--", process.execPath, "-e", "0"];
  return spawnSync(bwrap, args, { stdio: "ignore", env: {}, timeout: 5_000 }).status === 0;
}

let probed: IsolationTools | undefined;

/** The real probe (production's): looks for the programs and tries one namespace, once. */
export const probeIsolation: IsolationProbe = () => {
  if (probed) return probed;
  const prlimit = PRLIMIT_PATHS.find((candidate) => existsSync(candidate)) ?? null;
  const unsharePath = UNSHARE_PATHS.find((candidate) => existsSync(candidate));
  // A kernel or AppArmor policy can refuse unprivileged namespaces although the program exists: try one.
  const unshare = unsharePath && spawnSync(unsharePath, ["--user", "--map-root-user", "--net", "--", "true"], { stdio: "ignore", timeout: 5_000 }).status === 0 ? unsharePath : null;
  const bwrapPath = BWRAP_PATHS.find((candidate) => existsSync(candidate));
  const bwrap = bwrapPath && bwrapWorks(bwrapPath) ? bwrapPath : null;
  probed = { prlimit, unshare, bwrap };
  return probed;
};

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
