/**
 * @module commands/mfa
 * `kai mfa status|totp enroll|totp confirm|totp disable|recovery-codes|passkeys|reset`: the signed-in user's
 * second factors. Secrets the server shows once (the TOTP secret and URI, recovery codes) go to stdout, and
 * only there; messages go to stderr. Once a factor exists, changes need a current one (`--code`, a recovery
 * code on stdin, or the prompt). Passkeys are registered in a browser (the dashboard); here they are listed.
 */
import { Command } from "commander";
import type { MfaStatus } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { cell, formatKeyValues, listCell, type Output } from "../output.js";
import { addProofOptions, optionalProofFrom, proofFrom, type ProofFlags } from "../second-factor-proof.js";

function describeStatus(status: MfaStatus): string {
  return formatKeyValues([
    ["enrolled", listCell(status.enrolled)],
    ["totp", status.totp.confirmed ? "confirmed" : status.totp.pending ? "pending (confirm with `kai mfa totp confirm <code>`)" : "no"],
    ["passkeys", String(status.passkeys)],
    ["recovery codes left", String(status.recoveryCodesLeft)],
    ["required", status.required ? "yes (by role)" : "no"],
    ["must enrol", status.mustEnrol ? "yes" : "no"],
  ]);
}

/** Recovery codes, one per line on stdout; they are shown this once. */
function printRecoveryCodes(out: Output, codes: readonly string[]): void {
  if (out.json) out.document({ recoveryCodes: codes });
  else {
    for (const code of codes) out.line(code);
    out.info(`${codes.length} recovery codes, shown once: keep them somewhere safe; each signs in once`);
  }
}

function statusCommand(): Command {
  const command = new Command("status").description("which second factors you have");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const status = await client().mfa.status();
    if (out.json) out.document(status);
    else out.line(describeStatus(status).trimEnd());
  });
}

function enrollCommand(): Command {
  const command = new Command("enroll")
    .alias("enrol")
    .description("start a TOTP enrolment: prints the secret and the otpauth:// URI for your authenticator app");
  addProofOptions(command);
  addGlobalOptions(command);
  return command.action(async (flags: ProofFlags, self: Command) => {
    const { out, client } = contextOf(self);
    // The first factor needs no proof; a later enrolment does, and the server says so (`forbidden`/`mfa_required`).
    const status = await client().mfa.status();
    const proof = status.enrolled.length > 0 ? await proofFrom(flags) : await optionalProofFrom(flags);
    const enrolment = await client().mfa.totp.enrol(proof);
    if (out.json) {
      out.document({ secret: enrolment.secret, uri: enrolment.uri, algorithm: enrolment.algorithm, digits: enrolment.digits, period: enrolment.period });
      return;
    }
    out.line(formatKeyValues([["secret", enrolment.secret], ["uri", enrolment.uri]]).trimEnd());
    out.info(`add it to your authenticator app (${enrolment.algorithm}, ${enrolment.digits} digits, ${enrolment.period} s), then: kai mfa totp confirm <code>`);
  });
}

function confirmCommand(): Command {
  const command = new Command("confirm").description("confirm the TOTP enrolment with the first code from your app").argument("<code>", "6 digits");
  addGlobalOptions(command);
  return command.action(async (code: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    if (!/^\d{6}$/.test(code)) throw usageError("<code>: must be 6 digits");
    const confirmed = await client().mfa.totp.confirm(code);
    out.info("TOTP is on: sign-ins now ask for a code");
    if (confirmed.recoveryCodes !== undefined) printRecoveryCodes(out, confirmed.recoveryCodes);
    else if (out.json) out.document({ confirmed: true });
  });
}

function disableCommand(): Command {
  const command = new Command("disable").description("turn TOTP off (needs a current code or a recovery code)");
  addProofOptions(command);
  addGlobalOptions(command);
  return command.action(async (flags: ProofFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const proof = await proofFrom(flags);
    await client().mfa.totp.disable(proof);
    if (out.json) out.document({ totp: "disabled" });
    else out.info("TOTP is off");
  });
}

function recoveryCodesCommand(): Command {
  const command = new Command("recovery-codes").description("make a new set of recovery codes (printed once; the old set stops working)");
  addProofOptions(command);
  addGlobalOptions(command);
  return command.action(async (flags: ProofFlags, self: Command) => {
    const { out, client } = contextOf(self);
    const proof = await proofFrom(flags);
    printRecoveryCodes(out, await client().mfa.regenerateRecoveryCodes(proof));
  });
}

function passkeysCommand(): Command {
  const command = new Command("passkeys").description("list your passkeys (register them in the dashboard)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const passkeys = await client().mfa.passkeys.list();
    if (out.json) out.document({ passkeys });
    else out.table(["ID", "NAME", "SYNCED", "CREATED", "LAST USED"], passkeys.map((p) => [p.id, cell(p.name), p.backedUp ? "yes" : "no", p.createdAt, cell(p.lastUsedAt)]), "no passkeys");
  });
}

function resetCommand(): Command {
  const command = new Command("reset").description("remove every second factor of a user, e.g. after a lost phone (admin)").argument("<user-id>", "the user's id (`kai users show <username>`)");
  addGlobalOptions(command);
  return command.action(async (userId: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().mfa.reset(userId);
    if (out.json) out.document({ id: userId, reset: true });
    else out.info(`removed the second factors of ${userId}`);
  });
}

export function mfaCommand(): Command {
  const totp = new Command("totp").description("an authenticator app (TOTP) as second factor").addCommand(enrollCommand()).addCommand(confirmCommand()).addCommand(disableCommand());
  return new Command("mfa")
    .description("your second factors: TOTP, recovery codes, passkeys")
    .addCommand(statusCommand())
    .addCommand(totp)
    .addCommand(recoveryCodesCommand())
    .addCommand(passkeysCommand())
    .addCommand(resetCommand());
}
