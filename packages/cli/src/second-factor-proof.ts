/**
 * @module second-factor-proof
 * The proof of a current second factor that changing one's factors needs (`kai mfa …`): a code from `--code`,
 * a recovery code from stdin (`--recovery-code-stdin`: it is a secret that works once, so not on argv), or,
 * on a terminal, asked for.
 */
import type { Command } from "commander";
import type { SecondFactorProof } from "@kai/protocol";
import { usageError } from "./cli-error.js";
import { readSecret, promptLine } from "./secret-input.js";
import { secondFactorFrom } from "./password-sign-in.js";

export interface ProofFlags {
  code?: string;
  recoveryCodeStdin?: boolean;
}

export function addProofOptions(command: Command): Command {
  return command
    .option("--code <code>", "a current 6-digit code from your authenticator app")
    .option("--recovery-code-stdin", "read one of your recovery codes from stdin instead (it is used up)");
}

/** The proof the flags give, or undefined when they give none (a change that needs no proof yet). */
export async function optionalProofFrom(flags: ProofFlags): Promise<SecondFactorProof | undefined> {
  if (flags.code !== undefined && flags.recoveryCodeStdin) throw usageError("give --code or --recovery-code-stdin, not both");
  if (flags.code !== undefined) {
    if (!/^\d{6}$/.test(flags.code)) throw usageError("--code: must be 6 digits");
    return { code: flags.code };
  }
  if (flags.recoveryCodeStdin) return { recoveryCode: (await readSecret({ what: "recovery code" })).trim() };
  return undefined;
}

/** The proof the flags give; on a terminal without flags, asked for; a usage error otherwise. */
export async function proofFrom(flags: ProofFlags): Promise<SecondFactorProof> {
  const given = await optionalProofFrom(flags);
  if (given) return given;
  if (!process.stdin.isTTY) throw usageError("a current second factor is needed: --code <6 digits> or --recovery-code-stdin");
  const typed = await promptLine("current code from your authenticator app (or a recovery code): ");
  if (typed === "") throw usageError("no code given");
  return secondFactorFrom(typed);
}
