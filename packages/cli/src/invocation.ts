/**
 * @module invocation
 * How the user can run this CLI again, as a command that works when typed in the directory the current
 * process was started from. `kai serve` prints one in its banner: a suggestion such as `kai status` is
 * wrong on a fresh clone (no `kai` on the PATH), and `npx kai` would fetch an unrelated public package
 * of that name, so the banner names what actually started this process.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { parseJson } from "@kai/protocol";
import { z } from "zod";

/** The one thing read from a package.json: whether it has a `kai` script. */
const PackageScriptsSchema = z.object({ scripts: z.object({ kai: z.string() }) });

export interface InvocationContext {
  /** The script node runs (`process.argv[1]`). */
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const currentContext = (): InvocationContext => ({ script: process.argv[1] ?? "", cwd: process.cwd(), env: process.env });

/**
 * The command prefix that runs this CLI from `cwd`:
 * - `npm run kai --` when an npm script of the package in `cwd` started us and that package has a `kai`
 *   script (the repository root after `npm start`);
 * - `kai` when we were started through a `kai` executable found on the PATH (`npm link`, a global install);
 * - otherwise `node <path to the script>`, relative to `cwd` when it lies below it.
 */
export function cliInvocation(context: InvocationContext = currentContext()): string {
  const { script, cwd, env } = context;
  if (env.npm_lifecycle_event !== undefined && hasKaiScript(env.npm_package_json, cwd)) return "npm run kai --";
  if (basename(script) === "kai" && onPath(dirname(resolve(cwd, script)), env)) return "kai";
  let target = resolve(cwd, script);
  try {
    target = realpathSync(target);
  } catch {
    // A script that vanished since start-up: its path as given is still the best description.
  }
  return `node ${shellQuote(shownPath(target, cwd))}`;
}

/** `file` as a suggested command shows it: relative to `cwd` when it lies below it, else absolute. */
export function shownPath(file: string, cwd: string): string {
  const absolute = resolve(cwd, file);
  const below = relative(cwd, absolute);
  return below !== "" && !below.startsWith("..") && !isAbsolute(below) ? below : absolute;
}

/**
 * `VAR=value` prefixes the suggested command needs to reach this server with its admin token, from `cwd`.
 * The URL is always named, even the default one: a stored `kai login` would otherwise win over the default.
 */
export function connectionPrefix(options: { url: string; adminTokenPath: string; caFile?: string; cwd?: string }): string {
  const cwd = options.cwd ?? process.cwd();
  const parts = [`KAI_URL=${shellQuote(options.url)}`];
  // A node on a certificate from a private CA: the CA that makes the command work as printed.
  if (options.caFile !== undefined) parts.push(`KAI_CA_FILE=${shellQuote(options.caFile)}`);
  // The CLI looks for ./data/admin.token (or $KAI_DATA_DIR/admin.token); name the directory when it is elsewhere.
  if (basename(options.adminTokenPath) === "admin.token") {
    const dataDir = dirname(resolve(cwd, options.adminTokenPath));
    if (dataDir !== resolve(cwd, "data")) parts.push(`KAI_DATA_DIR=${shellQuote(shownPath(dataDir, cwd))}`);
  }
  return parts.map((part) => `${part} `).join("");
}

function hasKaiScript(packageJson: string | undefined, cwd: string): boolean {
  if (!packageJson || resolve(packageJson) !== resolve(cwd, "package.json")) return false;
  let text: string;
  try {
    text = readFileSync(packageJson, "utf8");
  } catch {
    return false;
  }
  const json = parseJson(text);
  return json.ok && PackageScriptsSchema.safeParse(json.value).success;
}

function onPath(directory: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(delimiter).some((entry) => entry !== "" && resolve(entry) === directory && existsSync(join(entry, "kai")));
}

/** Single-quotes a word for POSIX shells when it holds anything but plain path characters. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
