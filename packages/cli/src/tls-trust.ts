/**
 * @module tls-trust
 * The CLI's side of TLS (issue 19, `server.tls`), applied once before the command runs, so that no code path of any
 * command can miss it: fetch (the SDK's, through undici's global dispatcher) and WebSockets (`ws`, through Node's
 * HTTPS agent) alike.
 * - `--ca-file FILE` / `KAI_CA_FILE`: a node whose certificate is signed by a private CA. The CA's PEM is trusted
 *   beside the system's roots. Certificates are still verified, host names included: this adds a root, it never turns
 *   verification off.
 * - `--client-cert FILE` and `--client-key FILE` / `KAI_CLIENT_CERT`, `KAI_CLIENT_KEY`: a client certificate, for a
 *   node whose `server.tls.clientCertificates` is `all` (every connection needs one), which the CLI could not reach
 *   otherwise. (Not `--key-file`: `kai agent-login` and `kai vault` use that name for other keys.)
 */
import { globalAgent } from "node:https";
import type { TlsConnectOptions } from "@kai/sdk/node";
import { usageError } from "./cli-error.js";

/** The value of option `name` anywhere in argv (`--name F` or `--name=F`, not after `--`), else `env[variable]`. */
function fileOption(argv: readonly string[], env: NodeJS.ProcessEnv, name: string, variable: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === name) return argv[i + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return env[variable] || undefined;
}

/** What `--ca-file`, `--client-cert` and `--client-key` (or their variables) name; empty when none is given. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export function tlsFilesOf(argv: readonly string[], env: NodeJS.ProcessEnv): TlsFiles {
  const caFile = fileOption(argv, env, "--ca-file", "KAI_CA_FILE");
  const certFile = fileOption(argv, env, "--client-cert", "KAI_CLIENT_CERT");
  const keyFile = fileOption(argv, env, "--client-key", "KAI_CLIENT_KEY");
  return { ...(caFile !== undefined ? { caFile } : {}), ...(certFile !== undefined ? { certFile } : {}), ...(keyFile !== undefined ? { keyFile } : {}) };
}

/** The option that names each setting, for the error that refuses its file. */
const OPTION_OF = { ca: "--ca-file", cert: "--client-cert", key: "--client-key" } as const;

/** What `applyTlsFiles` set for every connection (empty when nothing was given), for a diagnosing probe to use too. */
let applied: TlsConnectOptions = {};
export const appliedTlsOptions = (): TlsConnectOptions => applied;

/**
 * Uses the CA and the client certificate named for every TLS connection of this process (the CA besides the system's
 * roots). undici is loaded only here: every other `kai` command would otherwise pay for loading it at start.
 */
export async function applyTlsFiles(files: TlsFiles): Promise<void> {
  if (files.caFile === undefined && files.certFile === undefined && files.keyFile === undefined) return;
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) throw usageError("--client-cert and --client-key go together (or KAI_CLIENT_CERT and KAI_CLIENT_KEY)");
  // The SDK's reader (the same rules as its nodeTls), loaded only when a file is given, as undici is.
  const { TlsSettingError, tlsConnectOptions } = await import("@kai/sdk/node");
  let connect: TlsConnectOptions;
  try {
    connect = tlsConnectOptions(files);
  } catch (error) {
    if (error instanceof TlsSettingError) throw usageError(`${OPTION_OF[error.setting]}: ${error.file} ${error.problem}`);
    throw error;
  }
  const { Agent, setGlobalDispatcher } = await import("undici");
  setGlobalDispatcher(new Agent({ connect }));
  Object.assign(globalAgent.options, connect);
  applied = connect;
}
