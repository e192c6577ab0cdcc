/**
 * @module plugin-lifecycle
 * Installing, updating, removing and rolling back plugins on a node's disk (issue 18, docs/plugins.md "Install,
 * update, remove, roll back"): the signed update manifest (the seed's `{plugin, latest, url, checksum, signature,
 * did}`), the version history the node keeps of every plugin it replaced or removed, and the routes' bodies.
 */
import { z } from "zod";
import semverValid from "semver/functions/valid.js";
import { TimestampSchema } from "./common.js";
import { Sha256HexSchema } from "./artifacts.js";
import { PluginIdSchema } from "./plugins.js";

const VersionSchema = z.string().max(256).refine((value) => semverValid(value) !== null, "must be a semantic version such as 1.2.3");

/**
 * A signed update manifest: where the package of version `latest` of `plugin` is (`url`, http or https), its SHA-256
 * (`checksum`, hex), and a detached Ed25519 `signature` by the key in `did` over the UTF-8 JCS text of the document
 * without `signature` (the same signing input as `plugin.sig.json` and KLP's signed documents). The node installs it
 * only when the signer is a key it trusts for plugins (plugins.trustedKeys, or a trusted peer with plugins.trustPeers).
 */
export const PluginUpdateManifestSchema = z.strictObject({
  plugin: PluginIdSchema,
  latest: VersionSchema,
  url: z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).max(2048),
  checksum: Sha256HexSchema,
  /** The signer's KLP DID (`kind:did:…#ed25519`). */
  did: z.string().min(1).max(200),
  signature: z.string().min(1).max(200),
});
export type PluginUpdateManifest = z.infer<typeof PluginUpdateManifestSchema>;

/** Why a version left its place: replaced by an install or update, removed, or swapped out by a rollback. */
export const PluginHistoryReasonSchema = z.enum(["replaced", "removed", "rolled-back"]);

/**
 * One version of a plugin the node keeps under `<dataDir>/plugins/.history/<id>/<name>/` (newest `plugins.historyLimit`).
 * `name` identifies the entry; `installedAt` is when that version was put in place, `archivedAt` when it left.
 */
export const PluginHistoryEntrySchema = z.object({
  name: z.string().min(1).max(300),
  version: z.string().max(256),
  installedAt: TimestampSchema.optional(),
  archivedAt: TimestampSchema,
  reason: PluginHistoryReasonSchema,
});
export type PluginHistoryEntry = z.infer<typeof PluginHistoryEntrySchema>;

/** What the node records next to a plugin it installed (kept with the history, never inside the plugin's folder: that would break its signature). */
export const PluginInstallRecordSchema = z.object({
  version: z.string().max(256),
  installedAt: TimestampSchema,
});
export type PluginInstallRecord = z.infer<typeof PluginInstallRecordSchema>;

/** `GET /api/plugins/{id}/history`: the installed version (absent after a remove) and the kept ones, newest first. */
export const PluginHistoryResponseSchema = z.object({
  id: PluginIdSchema,
  current: PluginInstallRecordSchema.optional(),
  history: z.array(PluginHistoryEntrySchema),
});
export type PluginHistoryResponse = z.infer<typeof PluginHistoryResponseSchema>;

/** `POST /api/plugins/install?replace=true`. */
export const PluginInstallQuerySchema = z.strictObject({
  replace: z.enum(["true", "false"]).optional(),
});

/** `DELETE /api/plugins/{id}?purge=true`. */
export const PluginRemoveQuerySchema = z.strictObject({
  purge: z.enum(["true", "false"]).optional(),
});

/** `POST /api/plugins/{id}/rollback`: to the newest kept version, or the newest kept one of `version`. */
export const PluginRollbackRequestSchema = z.strictObject({
  version: VersionSchema.optional(),
});
export type PluginRollbackRequest = z.infer<typeof PluginRollbackRequestSchema>;

/** `POST /api/plugins/{id}/update`: a signed update manifest; `force` installs a `latest` that is not newer. */
export const PluginUpdateRequestSchema = z.strictObject({
  manifest: z.record(z.string(), z.unknown()),
  force: z.boolean().optional(),
});
export type PluginUpdateRequest = z.infer<typeof PluginUpdateRequestSchema>;

/** `DELETE /api/plugins/{id}`: what was removed, and whether it can be rolled back (kept in the history). */
export const PluginRemoveResponseSchema = z.object({
  id: PluginIdSchema,
  version: z.string().optional(),
  purged: z.boolean(),
});
export type PluginRemoveResponse = z.infer<typeof PluginRemoveResponseSchema>;
