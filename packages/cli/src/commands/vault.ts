/**
 * @module commands/vault
 * `kai vault init|status|unlock|lock|set|get|list|rm|rotate|rekey|audit [verify]`: the credential vault.
 * Passphrases and secret values are read from stdin or a no-echo prompt (secret-input.ts), never from
 * argv. `get` writes the value alone on stdout, so `$(kai vault get openai/prod)` is the value.
 */
import { Command, Option } from "commander";
import { AUDIT_OUTCOMES, SecretNameSchema, TimestampSchema, type SecretInfo, type VaultStatus } from "@kai/protocol";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { cell, formatKeyValues } from "../output.js";
import { readSecret } from "../secret-input.js";

function checkName(name: string): string {
  const parsed = SecretNameSchema.safeParse(name);
  if (!parsed.success) throw usageError(`invalid secret name "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

function statusLines(status: VaultStatus): string {
  return formatKeyValues([
    ["initialized", String(status.initialized)],
    ["locked", String(status.locked)],
    ["unseal", status.autoUnlock ? "key file (development default; move to a passphrase with `kai vault rekey`)" : "passphrase"],
    ["kdf", status.kdf ? [status.kdf.name, status.kdf.hash, status.kdf.iterations !== undefined ? `${status.kdf.iterations} iterations` : undefined].filter(Boolean).join(", ") : "-"],
    ["key version", cell(status.keyVersion)],
    ["secrets", cell(status.secrets)],
    ["encryptions", cell(status.encryptionsUnderCurrentKey)],
    ...(status.unlockBackoffSeconds > 0 ? [["unlock backoff", `${status.unlockBackoffSeconds}s`] as [string, string]] : []),
  ]);
}

/** A leaf command with the global options; `configure` adds its own arguments and options. */
function leaf(name: string, description: string): Command {
  return addGlobalOptions(new Command(name).description(description));
}

function statusCommand(): Command {
  return leaf("status", "show whether the vault is initialised and locked").action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const status = await client().vault.status();
    if (out.json) out.document(status);
    else out.line(statusLines(status).trimEnd());
  });
}

/** Commands whose answer is the vault's status (init, unlock, lock, rekey). */
function reportStatus(self: Command, status: VaultStatus, message: string): void {
  const { out } = contextOf(self);
  if (out.json) out.document(status);
  else out.info(message);
}

function initCommand(): Command {
  return leaf("init", "initialise the vault with a passphrase (stdin or prompt), or --key-file for the development default")
    .option("--key-file", "no passphrase: a random key in <data-dir>/vault.key unlocks the vault at start (development only)")
    .action(async (flags: { keyFile?: boolean }, self: Command) => {
      const { client } = contextOf(self);
      const passphrase = flags.keyFile ? undefined : await readSecret({ what: "passphrase", confirm: true });
      const status = await client().vault.init(passphrase);
      reportStatus(self, status, passphrase ? "vault initialised with a passphrase" : "vault initialised with a key file (development default)");
    });
}

function unlockCommand(): Command {
  return leaf("unlock", "unlock the vault; the passphrase is read from stdin or a prompt (a key-file vault needs none)").action(async (_flags: unknown, self: Command) => {
    const { client } = contextOf(self);
    // A development-default vault opens from its key file on the server: nothing to ask (e.g. after `kai vault lock`).
    if ((await client().vault.status()).autoUnlock) {
      reportStatus(self, await client().vault.unlock(), "vault unlocked from its key file");
      return;
    }
    const passphrase = await readSecret({ what: "passphrase" });
    reportStatus(self, await client().vault.unlock(passphrase), "vault unlocked");
  });
}

function lockCommand(): Command {
  return leaf("lock", "lock the vault; its keys are dropped from the server's memory").action(async (_flags: unknown, self: Command) => {
    const { client } = contextOf(self);
    reportStatus(self, await client().vault.lock(), "vault locked");
  });
}

function rekeyCommand(): Command {
  return leaf("rekey", "set a new passphrase (stdin or prompt); secrets are not re-encrypted")
    .option("--key-file", "go back to the development key file instead of a passphrase")
    .action(async (flags: { keyFile?: boolean }, self: Command) => {
      const { client } = contextOf(self);
      const passphrase = flags.keyFile ? undefined : await readSecret({ what: "new passphrase", confirm: true });
      const status = await client().vault.rekey(passphrase);
      reportStatus(self, status, passphrase ? "vault re-keyed: it now opens with the new passphrase" : "vault re-keyed to the development key file");
    });
}

function rotateCommand(): Command {
  return leaf("rotate", "make a new data-key version and re-encrypt every secret under it").action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const result = await client().vault.rotate();
    if (out.json) out.document(result);
    else out.info(`key version ${result.keyVersion}; ${result.reencrypted} secret version(s) re-encrypted; retired ${result.retiredVersions.join(", ") || "none"}`);
    // Tampered secrets were left as they were; the server logged each one.
    if (result.skipped.length > 0) out.warn(`not rotated, failed their integrity check: ${result.skipped.join(", ")}`);
  });
}

function setCommand(): Command {
  return leaf("set", "store a secret; the value is read from stdin or a prompt (never from argv)")
    .argument("<name>", "secret name, e.g. openai/prod")
    .option("--expires-at <time>", "ISO-8601 time after which the secret is never returned")
    .option("--description <text>", "a non-secret note")
    .action(async (name: string, flags: { expiresAt?: string; description?: string }, self: Command) => {
      const { out, client } = contextOf(self);
      const secretName = checkName(name);
      if (flags.expiresAt !== undefined && !TimestampSchema.safeParse(flags.expiresAt).success) {
        throw usageError(`--expires-at: "${flags.expiresAt}" is not an ISO-8601 time such as 2030-01-01T00:00:00Z`);
      }
      const value = await readSecret({ what: "value" });
      const info = await client().vault.putSecret(secretName, value, {
        ...(flags.expiresAt !== undefined ? { expiresAt: flags.expiresAt } : {}),
        ...(flags.description !== undefined ? { description: flags.description } : {}),
      });
      if (out.json) out.document(info);
      else out.info(`stored ${info.name} (version ${info.version})`);
    });
}

function getCommand(): Command {
  return leaf("get", "print a secret's value on stdout (and nothing else)")
    .argument("<name>", "secret name")
    .action(async (name: string, _flags: unknown, self: Command) => {
      const { out, client } = contextOf(self);
      const secret = await client().vault.getSecret(checkName(name));
      if (out.json) out.document(secret);
      // The value exactly as stored; a newline only for a human at a terminal.
      else process.stdout.write(process.stdout.isTTY ? `${secret.value}\n` : secret.value);
    });
}

function secretRow(secret: SecretInfo): string[] {
  return [secret.name, String(secret.version), secret.updatedAt, secret.updatedBy, cell(secret.lastUsedAt), secret.expired ? "expired" : cell(secret.expiresAt)];
}

function listCommand(): Command {
  return leaf("list", "list secrets: names and metadata, never values").alias("ls").action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const secrets = await client().vault.listSecrets();
    if (out.json) out.document({ secrets });
    else out.table(["NAME", "VERSION", "UPDATED", "BY", "LAST USED", "EXPIRES"], secrets.map(secretRow), "no secrets");
  });
}

function rmCommand(): Command {
  return leaf("rm", "delete a secret and all its versions")
    .argument("<name>", "secret name")
    .action(async (name: string, _flags: unknown, self: Command) => {
      const { out, client } = contextOf(self);
      const secretName = checkName(name);
      await client().vault.deleteSecret(secretName);
      if (out.json) out.document({ name: secretName, deleted: true });
      else out.info(`deleted ${secretName}`);
    });
}

function auditCommand(): Command {
  return leaf("audit", "show the vault's audit log (admin); `kai vault audit verify` checks its MAC chain")
    .argument("[verify]", "verify the chain instead of listing entries")
    .option("--limit <n>", "the newest n entries (default 100); with --after, the first n after that seq", integerOption(1, 1000))
    .option("--operation <name>", "only this operation (e.g. getSecret)")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices([...AUDIT_OUTCOMES]))
    .option("--actor <owner>", "only this actor")
    .option("--after <seq>", "entries after this sequence number", integerOption(0))
    .action(async (verb: string | undefined, flags: { limit?: number; operation?: string; outcome?: (typeof AUDIT_OUTCOMES)[number]; actor?: string; after?: number }, self: Command) => {
      const { out, client } = contextOf(self);
      if (verb !== undefined && verb !== "verify") throw usageError(`unknown audit action "${verb}" (expected: verify)`);
      if (verb === "verify") {
        const result = await client().vault.verifyAudit();
        if (out.json) out.document(result);
        else out.line(result.ok ? `ok: ${result.entries} entries, chain intact` : `BROKEN at entry ${result.brokenAt} (${result.entries} entries)`);
        if (!result.ok) throw new CliError(`the audit log's chain is broken at entry ${result.brokenAt}: an entry was edited, inserted or deleted`, "audit_broken", EXIT.unexpected);
        return;
      }
      // Without --after the newest entries are wanted (like `tail`): asked for newest first, shown in seq order.
      const newest = flags.after === undefined;
      const answer = await client().vault.audit({
        ...(newest ? { order: "desc" as const } : {}),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        ...(flags.operation !== undefined ? { operation: flags.operation } : {}),
        ...(flags.outcome !== undefined ? { outcome: flags.outcome } : {}),
        ...(flags.actor !== undefined ? { actor: flags.actor } : {}),
        ...(flags.after !== undefined ? { afterSeq: flags.after } : {}),
      });
      const entries = newest ? answer.toReversed() : answer;
      if (out.json) out.document({ entries });
      else {
        out.table(
          ["SEQ", "AT", "ACTOR", "OPERATION", "SECRET", "OUTCOME", "REASON"],
          entries.map((entry) => [String(entry.seq), entry.at, cell(entry.actor), entry.operation, cell(entry.secret), entry.outcome, cell(entry.reason)]),
          "no audit entries",
        );
      }
    });
}

export function vaultCommand(): Command {
  return new Command("vault")
    .description("the credential vault: secrets, lock and unlock, rotation, audit")
    .addCommand(initCommand())
    .addCommand(statusCommand())
    .addCommand(unlockCommand())
    .addCommand(lockCommand())
    .addCommand(setCommand())
    .addCommand(getCommand())
    .addCommand(listCommand())
    .addCommand(rmCommand())
    .addCommand(rotateCommand())
    .addCommand(rekeyCommand())
    .addCommand(auditCommand());
}
