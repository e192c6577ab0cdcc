/**
 * @module plugins/runtime/isolation-probe
 * Which of the operating system's protections a plugin process can get on this machine (docs/security.md "Plugins"):
 * `prlimit` (CPU seconds, no file growth, few descriptors, a cap on the data segment: Buffers and native memory) and
 * an unprivileged user + network namespace through `unshare` (no network). Probed once per process and cached; the
 * supervisor asks before it starts an unverified plugin and refuses to start one whose protections are missing
 * unless `plugins.allowWeakIsolation` says otherwise. Tests inject another probe to play a machine without them.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The programs that give a plugin process its protections here; null: not available on this machine. */
export interface IsolationTools {
  prlimit: string | null;
  /** unshare, only when it can make an unprivileged user and network namespace here. */
  unshare: string | null;
}

export type IsolationProbe = () => IsolationTools;

const PRLIMIT_PATHS = ["/usr/bin/prlimit", "/bin/prlimit"];
const UNSHARE_PATHS = ["/usr/bin/unshare", "/bin/unshare"];

let probed: IsolationTools | undefined;

/** The real probe (production's): looks for the programs and tries one namespace, once. */
export const probeIsolation: IsolationProbe = () => {
  if (probed) return probed;
  const prlimit = PRLIMIT_PATHS.find((candidate) => existsSync(candidate)) ?? null;
  const unsharePath = UNSHARE_PATHS.find((candidate) => existsSync(candidate));
  // A kernel or AppArmor policy can refuse unprivileged namespaces although the program exists: try one.
  const unshare = unsharePath && spawnSync(unsharePath, ["--user", "--map-root-user", "--net", "--", "true"], { stdio: "ignore", timeout: 5_000 }).status === 0 ? unsharePath : null;
  probed = { prlimit, unshare };
  return probed;
};

/**
 * What a plugin process would go without here, each naming the protection and how to get it; empty when nothing is
 * missing. `network: true` (a system plugin with a network permission) needs no namespace.
 */
export function missingProtections(tools: IsolationTools, options: { network: boolean }): string[] {
  const missing: string[] = [];
  if (!tools.prlimit) {
    missing.push("prlimit is missing, so its CPU, file-size and memory (RLIMIT_DATA) limits cannot be set: install util-linux (apt-get install util-linux)");
  }
  if (!options.network && !tools.unshare) {
    missing.push(
      "unprivileged user namespaces are not available, so it would share the node's network: install util-linux's unshare and allow them " +
        "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 23.10+ kernel.apparmor_restrict_unprivileged_userns=0; in a container, a seccomp profile that allows unshare/clone with CLONE_NEWUSER)",
    );
  }
  return missing;
}
