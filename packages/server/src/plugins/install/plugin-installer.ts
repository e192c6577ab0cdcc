/**
 * @module plugins/install/plugin-installer
 * Everything that puts a plugin folder under `<dataDir>/plugins` and takes one off (issue 18; docs/plugins.md
 * "Install, update, remove, roll back"): install from a package (a .tar.gz, unpacked by package-extract.ts into
 * `<dataDir>/plugins/.staging/<random>/`), update from a signed update manifest, remove, roll back, and the version
 * history (plugin-history.ts).
 *
 * A package is checked exactly as discovery checks a folder (describeFolder: manifest, trust, node API) before it goes
 * anywhere near the live folder; a refused one leaves nothing behind. A new version takes its place by rename (one
 * file system: staging and history live under the same plugins folder), the old one moving to the history first.
 * After a change the installer calls `onChanged(id)` (the server rescans, the runtime restarts the plugin) and then
 * `verify(id)` (the runtime's start and health check): when that throws, the previous folder is put back, `onChanged`
 * runs again, and the caller gets 422 `plugin_start_failed`. One operation per plugin id at a time (a lock per id).
 *
 * Instances of one node (docs/plugins.md "Cluster"): with `share`, a new folder is packed (plugins/cluster/pack-folder.ts)
 * from staging, before it goes live, and once the change is in place and verified it is handed to `share.recorded`
 * (the shared install store, still under the id's lock). `follow` applies a change another instance recorded through
 * exactly the same checks (the package unpacked with the same limits, the folder checked as discovery checks it, its
 * trust decided here) and refuses one whose trust here is lower than the recording instance saw.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import semverGt from "semver/functions/gt.js";
import semverValid from "semver/functions/valid.js";
import {
  fieldErrorsFromZod,
  klp,
  PluginUpdateManifestSchema,
  type PluginDetail,
  type PluginHistoryEntry,
  type PluginHistoryResponse,
  type PluginRemoveResponse,
} from "@kai/protocol";
import type { SecurityEventInput } from "../../auth/security-log.js";
import { ApiError } from "../../errors.js";
import { describeFolder, type PluginSource } from "../plugin-discovery.js";
import { packFolder, PackTooLargeError } from "../cluster/pack-folder.js";
import { readPluginManifest } from "../plugin-manifest.js";
import { downloadPackage } from "./package-download.js";
import { extractPackage, PACKAGE_LIMITS, PackageError, type PackageLimits } from "./package-extract.js";
import { PluginHistory } from "./plugin-history.js";

export interface PluginInstallerOptions {
  dataDir: string;
  /** The same trust rule as discovery (plugins.trustedKeys, trusted peers): an update manifest's signer must pass it. */
  isTrustedKey: (did: string) => boolean;
  /** Versions kept per plugin (`plugins.historyLimit`, default 5). */
  historyLimit?: number;
  limits?: Partial<PackageLimits>;
  apiVersion?: string;
  /** Where the node currently sees a plugin id (the catalog): an id another source provides is not installed over. */
  lookup?: (id: string) => { source: PluginSource; path: string } | undefined;
  /** After every change (and again after an automatic rollback): the server rescans and restarts the plugin. */
  onChanged?: (id: string) => Promise<void> | void;
  /** After a new version is in place (install with replace, update, rollback): its start and health check. */
  verify?: (id: string) => Promise<void>;
  /** The deadline for an update's download (default 60 s). */
  downloadTimeoutMs?: number;
  /** The security log: every install, update, rollback and remove, done or refused, is recorded (who, which plugin). */
  audit?: { recordLater(input: SecurityEventInput): void };
  /** Where a change that succeeded is recorded for the other instances (plugins/cluster/plugin-install-recorder.ts). */
  share?: InstallShare;
  now?: () => Date;
}

export type InstallAction = "install" | "update" | "rollback" | "remove";

/** A change that succeeded here, as the other instances must follow it. */
export interface SharedInstallChange {
  id: string;
  action: InstallAction;
  version: string;
  /** The folder now in place, packed before it went live; null for a remove. */
  package: { bytes: Buffer; sha256: string } | null;
  trust: PluginDetail["trust"] | null;
  purge: boolean;
  by: string | undefined;
}

export interface InstallShare {
  /** Called under the id's lock once the change is in place and verified; never throws (a failure is its to report). */
  recorded(change: SharedInstallChange): Promise<void>;
}

/** A change another instance recorded (a row of the shared install store). */
export interface FollowedChange {
  id: string;
  action: InstallAction;
  version: string;
  package: Buffer | null;
  /** Hex SHA-256 the recording instance computed over `package`. */
  sha256: string | null;
  trust: "trusted" | "unverified" | null;
  purge: boolean;
  by: string;
  origin: string;
  revision: number;
}

const TRUST_RANK = { unverified: 0, trusted: 1, system: 2 } as const;

export interface InstallResult {
  id: string;
  version: string;
  path: string;
  /** The version the new one replaced, now in the history. */
  replaced?: PluginHistoryEntry;
}

const STAGING = ".staging";
const HISTORY = ".history";

export class PluginInstaller {
  readonly root: string;
  private readonly history: PluginHistory;
  private readonly limits: PackageLimits;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: PluginInstallerOptions) {
    this.root = join(options.dataDir, "plugins");
    this.history = new PluginHistory(join(this.root, HISTORY));
    this.limits = { ...PACKAGE_LIMITS, ...options.limits };
  }

  /** Installs a package (a .tar.gz stream). `replace`: an installed version moves to the history instead of a 409. `by`: who (the security log). */
  install(source: Readable, options: { replace?: boolean; by?: string } = {}): Promise<InstallResult> {
    return this.audited("plugin.install", options.by, {}, () => this.installNow(source, options), (result) => ({ replaced: result.replaced?.version ?? null }));
  }

  /**
   * Runs one lifecycle change and records it in the security log, done or refused, like enable and disable are
   * (plugin-runtime.ts): who, which plugin and version, and for a refusal the error's code and message.
   */
  private async audited<T extends { id: string; version?: string | undefined }>(type: string, by: string | undefined, details: Record<string, unknown>, work: () => Promise<T>, more: (result: T) => Record<string, unknown> = () => ({})): Promise<T> {
    try {
      const result = await work();
      this.options.audit?.recordLater({ type, outcome: "success", actor: by ?? null, details: { ...details, plugin: result.id, version: result.version ?? null, ...more(result) } });
      return result;
    } catch (error) {
      this.options.audit?.recordLater({ type, outcome: "failure", actor: by ?? null, details: { ...details, error: error instanceof ApiError ? error.code : "internal", reason: (error instanceof Error ? error.message : String(error)).slice(0, 500) } });
      throw error;
    }
  }

  private async installNow(source: Readable, options: { replace?: boolean; by?: string }): Promise<InstallResult> {
    const staging = await this.staging();
    try {
      const folder = await this.unpack(source, staging);
      const detail = await this.validate(folder);
      return await this.locked(detail.id, () => this.place(detail, folder, { replace: options.replace === true, reason: "replaced", undo: (placed) => rm(placed, { recursive: true, force: true }), share: { action: "install", by: options.by } }));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Installs the version a signed update manifest names: the signature (Ed25519 over the JCS of the document without
   * `signature`, by a trusted key) first, then the download and its checksum, then the same checks as an install.
   * `latest` must be newer than the installed version unless `force`.
   */
  update(document: Record<string, unknown>, options: { id?: string; force?: boolean; by?: string } = {}): Promise<InstallResult> {
    const named = typeof document.plugin === "string" ? document.plugin.slice(0, 255) : options.id;
    return this.audited("plugin.update", options.by, { ...(named !== undefined ? { plugin: named } : {}), ...(typeof document.latest === "string" ? { latest: document.latest.slice(0, 64) } : {}) }, () => this.updateNow(document, options), (result) => ({ replaced: result.replaced?.version ?? null }));
  }

  private async updateNow(document: Record<string, unknown>, options: { id?: string; force?: boolean; by?: string }): Promise<InstallResult> {
    const parsed = PluginUpdateManifestSchema.safeParse(document);
    if (!parsed.success) {
      throw new ApiError("validation_failed", "the update manifest is malformed", fieldErrorsFromZod(parsed.error).map((error) => ({ ...error, path: `manifest.${error.path}` })));
    }
    const manifest = parsed.data;
    if (options.id !== undefined && options.id !== manifest.plugin) {
      throw new ApiError("validation_failed", `the update manifest is for ${manifest.plugin}, not ${options.id}`, [{ path: "manifest.plugin", message: `must be ${options.id}` }]);
    }
    // Checked over the document as sent (minus `signature`), as plugin.sig.json is: never over a re-serialised copy.
    if (!klp.verifyDocument(document, manifest.did)) {
      throw new ApiError("validation_failed", "the update manifest's signature does not verify (not made by the key in did, or the manifest was changed after signing)", [{ path: "manifest.signature", message: "does not verify" }]);
    }
    if (!this.options.isTrustedKey(manifest.did)) {
      throw new ApiError("plugin_untrusted", `the update manifest is signed by ${manifest.did}, a key this node does not trust for plugins (plugins.trustedKeys)`);
    }
    return this.locked(manifest.plugin, async () => {
      const current = await this.currentFolder(manifest.plugin);
      if (!current) throw new ApiError("not_found", `plugin ${manifest.plugin} is not installed in this node's plugins folder; install it first`);
      const installed = await versionOf(current);
      if (!options.force && semverValid(installed) !== null && !semverGt(manifest.latest, installed)) {
        throw new ApiError("conflict", `${manifest.plugin} ${manifest.latest} is not newer than the installed ${installed} (force to install it anyway)`);
      }
      const staging = await this.staging();
      try {
        const file = join(staging, "package.tar.gz");
        const fetched = await downloadPackage(manifest.url, file, { maxBytes: this.limits.maxPackageBytes, timeoutMs: this.options.downloadTimeoutMs ?? 60_000 });
        if (fetched.sha256 !== manifest.checksum.toLowerCase()) {
          throw new ApiError("validation_failed", `the package fetched from the update's url has SHA-256 ${fetched.sha256}, not the signed checksum ${manifest.checksum}; nothing was installed`, [{ path: "manifest.checksum", message: "does not match the package" }]);
        }
        const unpacked = join(staging, "package");
        await mkdir(unpacked);
        const folder = await this.unpack(createReadStream(file), unpacked);
        const detail = await this.validate(folder);
        if (detail.id !== manifest.plugin || detail.version !== manifest.latest) {
          throw new ApiError("validation_failed", `the update's package holds ${detail.id} ${detail.version ?? "?"}, but the manifest names ${manifest.plugin} ${manifest.latest}`, [{ path: "manifest.latest", message: "does not match the package's plugin.yaml" }]);
        }
        return await this.place(detail, folder, { replace: true, reason: "replaced", undo: (placed) => rm(placed, { recursive: true, force: true }), share: { action: "update", by: options.by } });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  /** The installed version (when the installer placed it) and the kept ones, newest first. */
  async versions(id: string): Promise<PluginHistoryResponse> {
    const current = await this.history.current(id);
    const live = await this.currentFolder(id);
    return { id, ...(current && live ? { current } : {}), history: await this.history.list(id) };
  }

  /** Puts the newest kept version (or the newest of `version`) in place; the current one, if any, goes to the history. */
  rollback(id: string, options: { version?: string; by?: string } = {}): Promise<InstallResult> {
    return this.audited("plugin.rollback", options.by, { plugin: id }, () => this.rollbackNow(id, options), (result) => ({ replaced: result.replaced?.version ?? null }));
  }

  private rollbackNow(id: string, options: { version?: string; by?: string }): Promise<InstallResult> {
    return this.locked(id, async () => {
      this.refuseOtherSource(id, "rolled back");
      const entries = await this.history.list(id);
      const pick = options.version === undefined ? entries[0] : entries.find((entry) => entry.version === options.version);
      if (!pick) throw new ApiError("not_found", options.version === undefined ? `no kept version of plugin ${id} to roll back to` : `no kept version ${options.version} of plugin ${id}`);
      const staging = await this.staging();
      const folder = join(staging, id);
      try {
        await this.history.restore(id, pick.name, folder);
        const back = async (placed: string) => {
          await rename(placed, folder);
        };
        const detail = await this.validate(folder);
        return await this.place(detail, folder, { replace: true, reason: "rolled-back", undo: back, share: { action: "rollback", by: options.by } });
      } finally {
        // A kept version that did not make it into place (refused, or put back) returns to the history, never deleted.
        if (await isFolder(folder)) await this.history.archive(id, folder, (({ name: _name, ...record }) => record)(pick));
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  /** Removes a plugin installed in the data folder: into the history (a rollback brings it back), or deleted with `purge`. */
  remove(id: string, options: { purge?: boolean; by?: string } = {}): Promise<PluginRemoveResponse> {
    return this.audited("plugin.remove", options.by, { plugin: id, purge: options.purge === true }, () => this.removeNow(id, options));
  }

  private removeNow(id: string, options: { purge?: boolean; by?: string }): Promise<PluginRemoveResponse> {
    return this.locked(id, async () => {
      this.refuseOtherSource(id, "removed");
      const current = await this.currentFolder(id);
      if (!current) throw new ApiError("not_found", `plugin ${id} is not installed in this node's plugins folder`);
      const removed = await this.takeAway(id, current, options.purge === true);
      await this.options.share?.recorded({ id, action: "remove", version: removed.version ?? "unknown", package: null, trust: null, purge: options.purge === true, by: options.by });
      return removed;
    });
  }

  /**
   * Applies a change another instance recorded, never recorded again (plugins/cluster/plugin-install-follower.ts).
   * `load` runs under the id's lock and answers the change still to apply (undefined: nothing, this folder holds it
   * already), so a change made here meanwhile is never overtaken by an older one. An install, update or rollback
   * checks the bytes against the recorded SHA-256, unpacks them with this node's limits, checks the folder as any
   * package is checked, refuses it when its id or version is not the record's or its trust here is lower than the
   * recording instance decided (a changed file, a signer this instance does not trust), and places it as a replace
   * (verified, put back on failure); a remove removes the folder when this instance has it. `after` runs under the
   * lock once the folder holds the change. Security-logged as `plugin.sync`. Throws ApiError when refused.
   */
  follow(id: string, load: () => Promise<FollowedChange | undefined>, after: (change: FollowedChange) => Promise<void>): Promise<FollowedChange | undefined> {
    return this.locked(id, async () => {
      const change = await load();
      if (!change) return undefined;
      if (change.id !== id) throw new ApiError("validation_failed", `the recorded change is for ${change.id}, not ${id}`);
      await this.audited("plugin.sync", change.by, { plugin: change.id, action: change.action, revision: change.revision, origin: change.origin }, () => this.followNow(change, () => after(change)));
      return change;
    });
  }

  /** Under the id's lock (follow). */
  private async followNow(change: FollowedChange, after: () => Promise<void>): Promise<{ id: string; version: string }> {
    if (change.action === "remove") {
      this.refuseOtherSource(change.id, "removed");
      const current = await this.currentFolder(change.id);
      if (current) await this.takeAway(change.id, current, change.purge);
      else if (change.purge) await rm(this.history.folderOf(change.id), { recursive: true, force: true });
      await after();
      return { id: change.id, version: change.version };
    }
    if (!change.package) throw new ApiError("validation_failed", `the recorded ${change.action} of ${change.id} has no package`);
    if (createHash("sha256").update(change.package).digest("hex") !== change.sha256) {
      throw new ApiError("validation_failed", `the recorded package of ${change.id} ${change.version} does not match its recorded SHA-256 (changed in the database); it was not installed`);
    }
    const staging = await this.staging();
    try {
      const folder = await this.unpack(Readable.from([change.package]), staging);
      const detail = await this.validate(folder);
      if (detail.id !== change.id || detail.version !== change.version) {
        throw new ApiError("validation_failed", `the recorded package holds ${detail.id} ${detail.version ?? "?"}, but the record names ${change.id} ${change.version}`);
      }
      const expected = change.trust ?? "unverified";
      if (TRUST_RANK[detail.trust.level] < TRUST_RANK[expected]) {
        throw new ApiError("plugin_untrusted", `${change.id} ${change.version} was ${expected} on instance ${change.origin}, but is ${detail.trust.level} here (${detail.trust.reason}); it was not installed`);
      }
      const placed = await this.place(detail, folder, { replace: true, reason: change.action === "rollback" ? "rolled-back" : "replaced", undo: (path) => rm(path, { recursive: true, force: true }) });
      await after();
      return { id: placed.id, version: placed.version };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Moves the live folder into the history (or deletes it and its history with `purge`), then rescans. */
  private async takeAway(id: string, current: string, purge: boolean): Promise<PluginRemoveResponse> {
    const version = await versionOf(current);
    if (purge) {
      await rm(current, { recursive: true, force: true });
      await rm(this.history.folderOf(id), { recursive: true, force: true });
    } else {
      const record = await this.history.current(id);
      await this.history.archive(id, current, { version, ...(record ? { installedAt: record.installedAt } : {}), archivedAt: this.now(), reason: "removed" });
      await this.history.setCurrent(id, undefined);
      await this.history.prune(id, this.options.historyLimit ?? 5);
    }
    await this.options.onChanged?.(id);
    return { id, version, purged: purge };
  }

  /**
   * Moves the current folder (if any) to the history and `folder` into its place, then runs onChanged and verify;
   * when verify throws, `undo` takes the new folder away again and the previous one comes back.
   */
  private async place(detail: PluginDetail, folder: string, how: { replace: boolean; reason: PluginHistoryEntry["reason"]; undo: (placed: string) => Promise<void>; share?: { action: InstallAction; by: string | undefined } }): Promise<InstallResult> {
    const id = detail.id;
    const version = detail.version ?? "unknown";
    this.refuseOtherSource(id, "installed");
    const current = await this.currentFolder(id);
    const previousRecord = await this.history.current(id);
    let replaced: PluginHistoryEntry | undefined;
    if (current && !how.replace) throw new ApiError("conflict", `plugin ${id} is already installed (${await versionOf(current)}); install with replace to replace it (the installed version is kept in the history)`);
    // Packed before it goes live (and before its process ever runs): the other instances get exactly what was checked.
    const packed = how.share && this.options.share ? await this.pack(folder) : undefined;
    if (current) {
      replaced = await this.history.archive(id, current, { version: await versionOf(current), ...(previousRecord ? { installedAt: previousRecord.installedAt } : {}), archivedAt: this.now(), reason: how.reason });
    }
    const target = join(this.root, id);
    try {
      await rename(folder, target);
    } catch (error) {
      if (replaced && current) await this.history.restore(id, replaced.name, current);
      throw error;
    }
    await this.history.setCurrent(id, { version, installedAt: this.now() });
    await this.options.onChanged?.(id);
    if (this.options.verify) {
      try {
        await this.options.verify(id);
      } catch (error) {
        await how.undo(target);
        if (replaced && current) await this.history.restore(id, replaced.name, current);
        await this.history.setCurrent(id, replaced ? previousRecord : undefined);
        await this.options.onChanged?.(id);
        const reason = error instanceof Error ? error.message : String(error);
        throw new ApiError("plugin_start_failed", `${id} ${version} failed its start or health check (${reason.slice(0, 500)}); ${replaced ? `${replaced.version} was put back` : "it was not installed"}`);
      }
    }
    await this.history.prune(id, this.options.historyLimit ?? 5);
    if (how.share && packed) await this.options.share?.recorded({ id, action: how.share.action, version, package: packed, trust: detail.trust, purge: false, by: how.share.by });
    return { id, version, path: target, ...(replaced ? { replaced } : {}) };
  }

  /** The folder as the package the other instances get; refused (nothing placed) when it packs past the package limit. */
  private async pack(folder: string): Promise<{ bytes: Buffer; sha256: string }> {
    try {
      return await packFolder(folder, this.limits.maxPackageBytes);
    } catch (error) {
      if (error instanceof PackTooLargeError) throw new ApiError("payload_too_large", `the plugin folder packs to more than plugins.maxPackageBytes (${error.limit} bytes), so the other instances of this node could not get it; nothing was installed`);
      throw error;
    }
  }

  /** Unpacks into `into`; a refused package is an ApiError naming the entry. */
  private async unpack(source: Readable, into: string): Promise<string> {
    try {
      return await extractPackage(source, into, this.limits);
    } catch (error) {
      if (error instanceof PackageError) {
        throw new ApiError(error.tooLarge && error.entry === undefined ? "payload_too_large" : "validation_failed", `the plugin package is refused: ${error.message}`, [{ path: error.entry ?? "package", message: error.message }]);
      }
      throw error;
    }
  }

  /** The folder as discovery would see it; anything but a valid, compatible plugin is 400 naming the file and field. */
  private async validate(folder: string): Promise<PluginDetail> {
    const detail = await describeFolder(folder, basename(folder), "data", {
      isTrustedKey: this.options.isTrustedKey,
      ...(this.options.apiVersion ? { apiVersion: this.options.apiVersion } : {}),
    });
    if (detail.state === "discovered") return detail;
    const details = detail.errors.slice(0, 20).map((problem) => ({ path: `${relative(folder, problem.file) || "package"}${problem.field ? `:${problem.field}` : ""}`, message: problem.message }));
    const first = details[0];
    const what = detail.state === "incompatible" ? "is not compatible with this node" : "is not a valid plugin";
    throw new ApiError("validation_failed", `the plugin package ${what}${first ? `: ${first.path}: ${first.message}` : ""}`, details);
  }

  /** An id the node takes from another source (shipped, or a plugins.paths folder) is never installed over or removed here. */
  private refuseOtherSource(id: string, verb: string): void {
    const seen = this.options.lookup?.(id);
    if (!seen || seen.source === "data") return;
    const where = seen.source === "system" ? "is shipped with the node" : `comes from a plugins.paths folder (${seen.path})`;
    throw new ApiError("conflict", `plugin ${id} ${where}; it cannot be ${verb} through the API`);
  }

  /** The live folder of an installed plugin: `<plugins>/<id>`, or the data folder the catalog saw it in. */
  private async currentFolder(id: string): Promise<string | undefined> {
    const own = join(this.root, id);
    if (await isFolder(own)) return own;
    const seen = this.options.lookup?.(id);
    if (seen?.source === "data" && dirname(seen.path) === this.root && !basename(seen.path).startsWith(".") && (await isFolder(seen.path))) return seen.path;
    return undefined;
  }

  /**
   * Deletes staging folders older than `maxAgeMs`: what an install cut short by a crash left. Only old ones: another
   * instance sharing the folder may be unpacking right now.
   */
  async sweepStaging(maxAgeMs = 3_600_000): Promise<void> {
    const root = join(this.root, STAGING);
    const names = await readdir(root).catch(() => [] as string[]);
    const cutoff = (this.options.now?.() ?? new Date()).getTime() - maxAgeMs;
    for (const name of names) {
      const path = join(root, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
    }
  }

  private async staging(): Promise<string> {
    const dir = join(this.root, STAGING, randomBytes(12).toString("hex"));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  private async locked<T>(id: string, run: () => Promise<T>): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    const result = before.then(run, run);
    const tail = result.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await result;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function versionOf(folder: string): Promise<string> {
  const read = await readPluginManifest(folder);
  return read.ok ? read.manifest.version : "unknown";
}
