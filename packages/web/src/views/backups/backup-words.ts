/**
 * @module views/backups/backup-words
 * Backups said in words: what a backup holds (its counts, kind by kind), its size, and a title for each way a call
 * can fail, from the API's stable error codes (`backup_passphrase_wrong` and `backup_corrupt` are told apart by the
 * node; docs/operations/backup.md).
 */
import { KaiApiError } from "@kai/sdk";
import type { BackupCounts, BackupVaultUnseal } from "@kai/protocol";

/** Every kind a backup counts, in the order people look for them, with its singular and plural words. */
export const COUNT_WORDS: readonly { kind: keyof BackupCounts; one: string; many: string }[] = [
  { kind: "services", one: "service", many: "services" },
  { kind: "secrets", one: "secret", many: "secrets" },
  { kind: "secretVersions", one: "secret version", many: "secret versions" },
  { kind: "users", one: "user", many: "users" },
  // The next four are absent from backups taken before they were counted: such a backup does not list them.
  { kind: "roles", one: "custom role", many: "custom roles" },
  { kind: "totpFactors", one: "TOTP factor", many: "TOTP factors" },
  { kind: "recoveryCodes", one: "unused recovery code", many: "unused recovery codes" },
  { kind: "passkeys", one: "passkey", many: "passkeys" },
  { kind: "tokens", one: "token", many: "tokens" },
  { kind: "sessions", one: "session", many: "sessions" },
  { kind: "artifacts", one: "artifact", many: "artifacts" },
  { kind: "blobs", one: "artifact file", many: "artifact files" },
  { kind: "prompts", one: "prompt", many: "prompts" },
  { kind: "promptVersions", one: "prompt version", many: "prompt versions" },
  { kind: "memories", one: "memory", many: "memories" },
  { kind: "tasks", one: "task", many: "tasks" },
  { kind: "taskEvents", one: "task event", many: "task events" },
  { kind: "peers", one: "peer", many: "peers" },
  { kind: "imports", one: "imported record", many: "imported records" },
  { kind: "pushConfigs", one: "push config", many: "push configs" },
  { kind: "auditEntries", one: "vault audit entry", many: "vault audit entries" },
  { kind: "securityEvents", one: "security event", many: "security events" },
  // Absent from backups taken before plugin installs were backed up: such a backup simply does not list the kind.
  { kind: "pluginInstalls", one: "plugin install", many: "plugin installs" },
];

/** The kinds a row of the list shows; the whole set is in a take's or a verify's result. */
const SUMMARY_KINDS = new Set<keyof BackupCounts>(["services", "secrets", "users", "artifacts", "prompts", "memories", "tasks"]);

export function countWords(count: number, one: string, many: string): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

/** `3 services, 1 secret, 2 users, …`: the main kinds, for a row of the list. */
export function countsSummary(counts: BackupCounts): string {
  return COUNT_WORDS.filter((word) => SUMMARY_KINDS.has(word.kind) && counts[word.kind] !== undefined)
    .map((word) => countWords(counts[word.kind]!, word.one, word.many))
    .join(", ");
}

/** The heading of an error notice for a take or a verify, by the API's error code. */
export function backupErrorTitle(error: unknown, fallback: string): string {
  if (!(error instanceof KaiApiError)) return fallback;
  if (error.code === "backup_passphrase_wrong") return "The passphrase does not open this backup";
  if (error.code === "backup_corrupt") return "This backup is damaged: it is not a backup, cut short or changed";
  if (error.code === "backup_failed") return `${fallback}: the node cannot write to its backup directory`;
  if (error.code === "conflict") return `${fallback}: the node cannot do it now`;
  if (error.code === "validation_failed") return `${fallback}: check the passphrase`;
  return fallback;
}

/**
 * What opens the vault a backup restores, for its row: its passphrase, or the key file of the node it was taken from
 * (`vault.key`, the development default), which no backup carries; absent from backups taken before it was recorded.
 */
export function vaultUnsealWords(unseal: BackupVaultUnseal | undefined): string {
  if (unseal === "key-file") return "the node's vault.key (not in the backup)";
  if (unseal === "passphrase") return "the vault passphrase";
  return "not recorded";
}

