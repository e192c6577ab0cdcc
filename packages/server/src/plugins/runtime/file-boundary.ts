/**
 * @module plugins/runtime/file-boundary
 * The operating system's file boundary around a plugin process (issue 18, docs/security.md "Plugins"): bubblewrap
 * (`bwrap`) starts the plugin's Node in new user, mount, PID, IPC and UTS namespaces (and a new network namespace
 * unless the plugin is given the network), whose file system holds only what Node needs to run: the system's programs
 * and libraries read-only (/usr and the /lib, /bin links into it: no secrets there), the node binary, the host script
 * and the plugin's own folder read-only, a private /proc, a minimal /dev and an empty /tmp. The node's data folder, its
 * database, vault key and TLS key files do not exist in that mount namespace, so a plugin that escapes Node's
 * permission model (which Node says is no security boundary) still cannot open them.
 *
 * The paths inside are the same as outside (Node's permission flags and the host's arguments name them).
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

export interface FileBoundaryOptions {
  /** The host script (plugin-host.js) the process runs. */
  host: string;
  /** The plugin's folder (absolute), readable and the working folder. */
  folder: string;
  /** True: the plugin keeps the node's network (a system plugin's `network:` permission), and the files name lookups read. */
  network: boolean;
}

/** Top-level system folders Node's binary and libraries live in: bound read-only, or recreated as the links they are. */
const SYSTEM_FOLDERS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** Files in /etc a Node process reads at start (the dynamic linker's cache, the local time zone); none holds a secret. */
const ETC_FILES = ["/etc/ld.so.cache", "/etc/localtime"];
/** What name lookups read, for a plugin given the network only. */
const NETWORK_ETC_FILES = ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"];

/** The closest package.json above `file`: Node reads its `type` to know the host script is an ES module. */
function packageJsonOf(file: string): string | null {
  for (let folder = dirname(file); ; folder = dirname(folder)) {
    const candidate = join(folder, "package.json");
    if (existsSync(candidate)) return candidate;
    if (dirname(folder) === folder) return null;
  }
}

/** bubblewrap's arguments (before `--` and the command) for a plugin process. */
export function fileBoundaryArgs(options: FileBoundaryOptions): string[] {
  const args = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"];
  if (!options.network) args.push("--unshare-net");
  // --die-with-parent: killing bwrap (the node's SIGKILL) takes the plugin with it; --new-session: no terminal to inject into.
  args.push("--die-with-parent", "--new-session");
  for (const path of SYSTEM_FOLDERS) {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push("--symlink", readlinkSync(path), path);
    else if (stat.isDirectory()) args.push("--ro-bind", path, path);
  }
  for (const path of [...ETC_FILES, ...(options.network ? NETWORK_ETC_FILES : [])]) args.push("--ro-bind-try", path, path);
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  // Node installed outside /usr (nvm, /opt): its binary alone; the libraries it links are the system's.
  const node = realpathSync(process.execPath);
  if (!node.startsWith("/usr/")) args.push("--ro-bind", node, node);
  if (process.execPath !== node) args.push("--ro-bind", node, process.execPath);
  const pkg = packageJsonOf(options.host);
  if (pkg) args.push("--ro-bind", pkg, pkg);
  // After the /tmp tmpfs: a plugin folder under /tmp (tests, a temporary data folder) is mounted over it.
  args.push("--ro-bind", options.host, options.host, "--ro-bind", options.folder, options.folder, "--chdir", options.folder);
  return args;
}
