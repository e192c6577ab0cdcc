/**
 * @module backups
 * Backups of a node (issue 19, docs/operations/backup.md): the public header every backup file starts with, the
 * manifest inside it (what it holds, counted kind by kind, and the SHA-256 of every file), and the `/api/backups`
 * requests and answers. A backup file is encrypted as a whole; only the header is readable without the passphrase,
 * and it is authenticated (the cipher's additional data), so a changed header fails like changed content.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** `kai-backup-<UTC yyyymmddThhmmssZ>-<6 random>`; the file is `<id>.kaibak` in the backup directory. */
export const BackupIdSchema = z.string().regex(/^kai-backup-\d{8}T\d{6}Z-[a-z0-9]{6}$/, "a backup id (kai-backup-<time>-<suffix>)");
export type BackupId = z.infer<typeof BackupIdSchema>;

export const BACKUP_FORMAT = 1;

/** The backend the node ran on when the backup was taken. */
export const BackupSourceBackendSchema = z.enum(["sqlite", "postgres"]);

/**
 * The most PBKDF2 iterations a backup header may ask for. The key is derived before anything is authenticated, so a
 * header is the one thing a stranger's file can make the node (or `kai backup verify --file`) spend CPU on: 100 million
 * iterations is minutes of a core per attempt. Ten million is some 17 times the default (600,000) and still seconds;
 * no node writes more (backup-envelope.ts refuses to).
 */
export const MAX_BACKUP_KDF_ITERATIONS = 10_000_000;

/** The passphrase's key derivation: the vault's PBKDF2-SHA256 (vault/crypto/kdf.ts), its own salt per backup. */
export const BackupKdfSchema = z.strictObject({
  name: z.literal("pbkdf2-sha256"),
  iterations: z.int().min(10_000).max(MAX_BACKUP_KDF_ITERATIONS),
  hash: z.literal("sha256"),
  salt: z.string().regex(/^[A-Za-z0-9_-]{22}$/, "16-byte base64url salt"),
});

/**
 * How the vault inside a backup is unsealed: with its passphrase, or with the node's key file (`vault.key`, the
 * development default), which a backup never carries: such a backup opens only with a copy of that file.
 */
export const BackupVaultUnsealSchema = z.enum(["passphrase", "key-file"]);
export type BackupVaultUnseal = z.infer<typeof BackupVaultUnsealSchema>;

/** The readable, authenticated header at the start of a backup file. */
export const BackupHeaderSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  id: BackupIdSchema,
  createdAt: TimestampSchema,
  /** The node's DID. */
  did: z.string().min(1).max(256),
  sourceBackend: BackupSourceBackendSchema,
  withArtifacts: z.boolean(),
  /**
   * Taken by the schedule (`backup.schedule`), which alone `backup.retain` prunes; false: asked for (API, CLI), kept
   * until deleted. Absent from backups taken before it was recorded: never pruned either.
   */
  scheduled: z.boolean().optional(),
  /** How the backed-up vault is unsealed (absent from older backups: the restore reads it from the vault itself). */
  vaultUnseal: BackupVaultUnsealSchema.optional(),
  cipher: z.literal("aes-256-gcm"),
  kdf: BackupKdfSchema,
  /** HMAC-SHA256 of a fixed label under the derived key (base64url): tells a wrong passphrase from a changed file. */
  check: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "32-byte base64url check value"),
  /** 12-byte base64url GCM nonce. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16}$/, "12-byte base64url nonce"),
});
export type BackupHeader = z.infer<typeof BackupHeaderSchema>;

/** What the backup holds, kind by kind (the counts of the storage inventory, storage/copy/inventory.ts). */
export const BackupCountsSchema = z.strictObject({
  services: z.int().min(0),
  tokens: z.int().min(0),
  secrets: z.int().min(0),
  secretVersions: z.int().min(0),
  auditEntries: z.int().min(0),
  peers: z.int().min(0),
  imports: z.int().min(0),
  users: z.int().min(0),
  /**
   * Custom roles, TOTP factors, unused recovery codes and passkeys. Absent from a manifest written before backups
   * counted them (verify then does not compare them; the restore's own comparison with the snapshot still does).
   */
  roles: z.int().min(0).optional(),
  totpFactors: z.int().min(0).optional(),
  recoveryCodes: z.int().min(0).optional(),
  passkeys: z.int().min(0).optional(),
  sessions: z.int().min(0),
  securityEvents: z.int().min(0),
  tasks: z.int().min(0),
  taskEvents: z.int().min(0),
  artifacts: z.int().min(0),
  prompts: z.int().min(0),
  promptVersions: z.int().min(0),
  memories: z.int().min(0),
  pushConfigs: z.int().min(0),
  /**
   * Rows of the shared plugin install store, each with its package (issue 18). Absent from a manifest written before
   * backups counted them (verify then does not compare it; the restore's own comparison with the snapshot still does).
   */
  pluginInstalls: z.int().min(0).optional(),
  /** Artifact blobs carried in the backup (0 without `withArtifacts`). */
  blobs: z.int().min(0),
});
export type BackupCounts = z.infer<typeof BackupCountsSchema>;

export const BackupFileEntrySchema = z.strictObject({
  /** Relative path inside the archive (`kai.db`, `node-key.pub.pem`, `audit.key`, `blobs/<sha256>`). */
  path: z.string().min(1).max(512).regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]+$/, "a relative path"),
  bytes: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** `manifest.json` inside the archive. */
export const BackupManifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  id: BackupIdSchema,
  createdAt: TimestampSchema,
  did: z.string().min(1).max(256),
  sourceBackend: BackupSourceBackendSchema,
  /** The server version that took it. */
  version: z.string().max(64),
  withArtifacts: z.boolean(),
  counts: BackupCountsSchema,
  files: z.array(BackupFileEntrySchema).max(10_000_000),
});
export type BackupManifest = z.infer<typeof BackupManifestSchema>;

/** Where a copy of a backup is: the backup directory (`backup.dir`), or the offsite store (`backup.offsite`). */
export const BackupLocationSchema = z.enum(["local", "offsite"]);
export type BackupLocation = z.infer<typeof BackupLocationSchema>;

/** One backup as listed: its header's public facts, its file size, and where its copies are. */
export const BackupSummarySchema = z.strictObject({
  id: BackupIdSchema,
  createdAt: TimestampSchema,
  did: z.string(),
  sourceBackend: BackupSourceBackendSchema,
  withArtifacts: z.boolean(),
  bytes: z.int().min(0),
  /** Where its copies are (absent from nodes that predate offsite copies: local). */
  locations: z.array(BackupLocationSchema).min(1).optional(),
  /** Taken by the schedule, and so pruned by `backup.retain`; false: kept until deleted; absent: taken before this was recorded (kept until deleted). */
  scheduled: z.boolean().optional(),
  /** How the vault inside is unsealed (absent: not recorded, an older backup). */
  vaultUnseal: BackupVaultUnsealSchema.optional(),
});
export type BackupSummary = z.infer<typeof BackupSummarySchema>;

export const BackupListResponseSchema = z.strictObject({
  backups: z.array(BackupSummarySchema),
  /** Set when the offsite store (`backup.offsite`) could not be listed: `backups` then holds the local ones only. */
  offsiteError: z.string().optional(),
});
export type BackupListResponse = z.infer<typeof BackupListResponseSchema>;

/** The fewest characters a backup passphrase has: no backup was ever taken with a shorter one. */
export const MIN_BACKUP_PASSPHRASE_LENGTH = 8;

/** A passphrase for one backup; absent: the node's `backup.passphrase`. Never stored, never logged. */
const PassphraseSchema = z.string().min(MIN_BACKUP_PASSPHRASE_LENGTH).max(1024);

export const CreateBackupRequestSchema = z.strictObject({
  passphrase: PassphraseSchema.optional(),
  /** Also carry the artifacts' bytes (as stored: encrypted at rest stays encrypted). */
  withArtifacts: z.boolean().optional(),
});
export type CreateBackupRequest = z.infer<typeof CreateBackupRequestSchema>;

export const CreateBackupResponseSchema = BackupSummarySchema.extend({
  counts: BackupCountsSchema,
  /**
   * Set when `backup.offsite` is on and the copy there failed: the backup is in the backup directory only (`locations`
   * says so), and a later scheduled backup is copied as usual. The reason names the store's error, never a credential.
   */
  offsiteError: z.string().optional(),
  /**
   * What the operator must know to restore it, beyond the passphrase: a vault on the key file (`vaultUnseal:
   * key-file`) opens only with that node's `vault.key`, which the backup does not carry.
   */
  warnings: z.array(z.string()).optional(),
});
export type CreateBackupResponse = z.infer<typeof CreateBackupResponseSchema>;

export const VerifyBackupRequestSchema = z.strictObject({ passphrase: PassphraseSchema.optional() });
export type VerifyBackupRequest = z.infer<typeof VerifyBackupRequestSchema>;

/** One kind compared: what the manifest (or the snapshot) says against what a restore gave. */
export const BackupCheckRowSchema = z.strictObject({ kind: z.string(), expected: z.string(), restored: z.string(), ok: z.boolean() });

export const BackupVerificationSchema = z.strictObject({
  id: BackupIdSchema,
  /** Every file's hash matched the manifest, the scratch restore agreed with the snapshot kind by kind, and with the manifest's counts. */
  ok: z.boolean(),
  files: z.int().min(0),
  counts: BackupCountsSchema,
  rows: z.array(BackupCheckRowSchema),
});
export type BackupVerification = z.infer<typeof BackupVerificationSchema>;
