/**
 * @module tls-trust
 * `--ca-file FILE` / `KAI_CA_FILE`: a node whose certificate is signed by a private CA (issue 19, `server.tls`). The
 * CA's PEM is trusted beside the system's roots for every connection the command makes: fetch (the SDK's, through
 * undici's global dispatcher) and WebSockets (`ws`, through Node's HTTPS agent). Applied once, before the command
 * runs, so no code path of any command can miss it. Certificates are still verified, host names included: this adds
 * a root, it never turns verification off.
 */
import { readFileSync } from "node:fs";
import { globalAgent } from "node:https";
import { rootCertificates } from "node:tls";
import { usageError } from "./cli-error.js";

/** The CA file named by `--ca-file` (anywhere in argv, `--ca-file F` or `--ca-file=F`) or `KAI_CA_FILE`. */
export function caFileOf(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === "--ca-file") return argv[i + 1];
    if (arg.startsWith("--ca-file=")) return arg.slice("--ca-file=".length);
  }
  return env.KAI_CA_FILE || undefined;
}

/**
 * Trusts the CA in `file` (PEM) for every TLS connection of this process, besides the system's roots. undici is
 * loaded only here: every other `kai` command would otherwise pay for loading it at start.
 */
export async function trustCaFile(file: string): Promise<void> {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    throw usageError(`--ca-file: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw usageError(`--ca-file: ${file} holds no PEM certificate`);
  const ca = [...rootCertificates, pem];
  const { Agent, setGlobalDispatcher } = await import("undici");
  setGlobalDispatcher(new Agent({ connect: { ca } }));
  globalAgent.options.ca = ca;
}
