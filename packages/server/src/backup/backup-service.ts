/**
 * @module backup/backup-service
 * The node's backups (issue 19, docs/operations/backup.md): `create` takes a snapshot while the node serves
 * (backup-snapshot.ts), writes its manifest, archives and encrypts it into `<dir>/<id>.kaibak`
 * (backup-archive.ts, backup-envelope.ts); `list` reads the files' public headers; `verify` restores one into a
 * scratch database (backup-verify.ts); `prune` keeps the newest N scheduled backups. One backup is taken at a time per
 * process (a second waits for the first): two snapshots at once would only double the I/O.
 *
 * A file is a backup only under its own name, `<header's id>.kaibak`: a copy renamed by hand is neither listed nor
 * pruned as the backup its header names (that would list one backup twice, and prune could delete the original and
 * keep the copy). Retention counts the scheduled backups only: a backup someone asked for (before an upgrade, say)
 * stays until deleted, as an operator expects; the header says which is which.
 *
 * With `backup.offsite` (offsite-store.ts), each backup taken is also copied to an S3-compatible bucket; the listing
 * shows both places, a backup kept only there is fetched back into the directory when it is verified or downloaded,
 * and deletion and retention apply to both. A failed copy leaves the backup in the directory (the answer and the log
 * say so, and `kai_backup_offsite_failures_total` counts it); the next backup is copied as usual. A delete removes the
 * directory's file first: a store that is down must not keep the node's disk full; its copy is then left there (and
 * listed as offsite) for a later delete.
 *
 * A node on SQLite is snapshotted at one instant (`VACUUM INTO`); a node on PostgreSQL is copied kind by kind
 * through the store contracts into the same SQLite format (postgres-snapshot.ts says what consistency that gives),
 * so every backup restores into either backend.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BackupIdSchema,
  MIN_BACKUP_PASSPHRASE_LENGTH,
  type BackupHeader,
  type BackupManifest,
  type BackupSummary,
  type BackupVerification,
  type CreateBackupResponse,
} from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { BlobStore } from "../artifacts/blob-store.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import { readSourceIdentity } from "../storage/copy/source-identity.js";
import { VERSION } from "../version.js";
import { VAULT_KEY_FILE } from "../vault/key-files.js";
import { listFiles, MANIFEST_FILE, packFolder } from "./backup-archive.js";
import { readBackupHeader, writeBackup } from "./backup-envelope.js";
import { takeSnapshot } from "./backup-snapshot.js";
import { verifyBackup } from "./backup-verify.js";
import type { OffsiteBackup, OffsiteStore } from "./offsite-store.js";

export const BACKUP_SUFFIX = ".kaibak";

/** HEAD requests to the offsite store on their way at once while listing or pruning (offsiteSummaries). */
const OFFSITE_HEADS_AT_ONCE = 8;

export interface BackupServiceOptions {
  dataDir: string;
  keyDir: string;
  /** Where backups are written and listed. */
  dir: string;
  /** The node's storage backend kind, and its store (read directly when it is PostgreSQL). */
  storage: "sqlite" | "postgres" | "memory";
  store?: StorageBackend;
  /** The artifacts' blob store backend, for backups with their bytes. */
  blobs: () => Promise<BlobStore>;
  /** `backup.passphrase`: used when a call gives none. */
  passphrase?: string;
  /** `backup.passphraseSecret`: reads the passphrase from the vault when a call gives none (and there is no `passphrase`). */
  readPassphrase?: () => Promise<string>;
  kdfIterations: number;
  /** `backup.offsite`: where each backup is copied as well; absent when off. */
  offsite?: OffsiteStore;
  logger: Logger;
}

/** One offsite copy's outcome; `reason` only for a failed one (words safe to show: never the store's credentials). */
export interface OffsiteCopyOutcome {
  backup: string;
  at: string;
  ok: boolean;
  reason?: string;
}

/** The listing: the backups in the directory and offsite, newest first. */
export interface BackupListing {
  backups: BackupSummary[];
  /** Why the offsite store could not be listed (`backups` then holds the directory's only). */
  offsiteError?: string;
}

export interface CreateOptions {
  passphrase?: string;
  withArtifacts?: boolean;
  /** Taken by the schedule (backup-schedule.ts): only these are pruned by `backup.retain`. */
  scheduled?: boolean;
}

function newId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const suffix = [...randomBytes(6)].map((byte) => "abcdefghijklmnopqrstuvwxyz0123456789"[byte % 36]).join("");
  return `kai-backup-${stamp}-${suffix}`;
}

/**
 * What a backup that never finished leaves in the backup folder: its work folder (`.kai-backup-take-…`, or a verify's
 * `.kai-backup-open-…`) and its half-written file (`<id>.kaibak.partial`). A process killed mid-backup cannot remove
 * them, so they are swept later — only once older than `LEFTOVER_AGE_MS`: another instance sharing the folder may be
 * writing one right now, and no backup runs that long.
 */
const LEFTOVER = /^(\.kai-backup-(take|open)-.+|kai-backup-.+\.kaibak\.partial)$/;
export const LEFTOVER_AGE_MS = 24 * 60 * 60 * 1000;

/** File system refusals that mean the backup directory is unusable, not that the node is broken. */
const BACKUP_DIR_REFUSALS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "ENOENT", "EEXIST", "ENOSPC", "EDQUOT", "ENAMETOOLONG", "ELOOP"]);

export class BackupService {
  private queue: Promise<unknown> = Promise.resolve();
  private failed = 0;
  private offsiteFailed = 0;
  private lastCopy: OffsiteCopyOutcome | undefined;
  /** The offsite store failed the last listing: said in the log once, until it answers again (the web app lists often). */
  private offsiteListingFailed = false;
  private changed = 0;
  /**
   * Files of the backup directory already warned of (not a readable backup, or a backup under another backup's name:
   * a copy renamed by hand): said once, not at every listing (each scrape lists).
   */
  private readonly warnedFiles = new Set<string>();

  constructor(private readonly options: BackupServiceOptions) {}

  get dir(): string {
    return this.options.dir;
  }

  /**
   * Backups that failed once begun since the node started (a full disk, a backup directory it cannot write, a store
   * that failed mid-way), scheduled or asked for: the `kai_backup_failures_total` metric (backup-metrics.ts). A request
   * refused before anything began (no passphrase, a node with nothing durable) is the caller's error, not counted.
   */
  get failures(): number {
    return this.failed;
  }

  /** Backups whose offsite copy failed since the node started: `kai_backup_offsite_failures_total` (backup-metrics.ts). */
  get offsiteFailures(): number {
    return this.offsiteFailed;
  }

  /** Whether backups are copied offsite (`backup.offsite`). */
  get copiesOffsite(): boolean {
    return this.options.offsite !== undefined;
  }

  /** How this instance's last offsite copy went (since it started): `kai doctor` says when it failed. */
  get lastOffsiteCopy(): OffsiteCopyOutcome | undefined {
    return this.lastCopy;
  }

  /**
   * Grows each time this instance adds or removes a backup file: a reader of the listing (the metrics) knows when what
   * it read is out of date without listing the directory again.
   */
  get changes(): number {
    return this.changed;
  }

  /** The file of backup `id` (the id is checked first: never a path of the caller's making). */
  fileOf(id: string): string {
    if (!BackupIdSchema.safeParse(id).success) throw new ApiError("validation_failed", "not a backup id");
    return join(this.options.dir, `${id}${BACKUP_SUFFIX}`);
  }

  async create(options: CreateOptions = {}): Promise<CreateBackupResponse> {
    const passphrase = await this.passphraseOf(options.passphrase);
    return this.serialised(() => this.take(passphrase, options.withArtifacts === true, options.scheduled === true));
  }

  /** The backups in the directory and offsite, newest first (each with where its copies are). */
  async list(): Promise<BackupListing> {
    const local = await this.listLocal();
    const offsite = this.options.offsite;
    if (!offsite) return { backups: local };
    const byId = new Map(local.map((backup) => [backup.id, backup]));
    const only: BackupSummary[] = [];
    try {
      const elsewhere = [];
      for (const copy of await offsite.list()) {
        const here = byId.get(copy.id);
        if (here) here.locations = ["local", "offsite"];
        else elsewhere.push(copy);
      }
      // The facts of backups kept only offsite (a new node may see hundreds).
      only.push(...(await offsiteSummaries(offsite, elsewhere)));
    } catch (error) {
      if (!this.offsiteListingFailed) this.options.logger.warn({ err: error }, "the offsite backup store could not be listed");
      this.offsiteListingFailed = true;
      for (const backup of local) backup.locations = ["local"];
      return { backups: local, offsiteError: error instanceof ApiError ? error.message : "the offsite backup store (backup.offsite) could not be listed" };
    }
    if (this.offsiteListingFailed) this.options.logger.info("the offsite backup store answers again");
    this.offsiteListingFailed = false;
    return { backups: newestFirst([...local, ...only]) };
  }

  /**
   * The backups in the backup directory, newest first (no offsite store is asked: the metrics read this at every
   * scrape). Each is a file named by its header's id; any other file is left out (see the module header).
   */
  async listLocal(): Promise<BackupSummary[]> {
    if (!existsSync(this.options.dir)) return [];
    const backups: BackupSummary[] = [];
    for (const name of await readdir(this.options.dir)) {
      const named = name.slice(0, -BACKUP_SUFFIX.length);
      if (!name.endsWith(BACKUP_SUFFIX) || !BackupIdSchema.safeParse(named).success) continue;
      try {
        const { header, size } = await readBackupHeader(join(this.options.dir, name));
        if (header.id !== named) {
          this.sayOnce(name, { file: name, holds: header.id }, "a file in the backup directory holds another backup than its name says (copied or renamed by hand): it is not listed, pruned or verified as that backup");
          continue;
        }
        backups.push(summaryOf(header, size, ["local"]));
      } catch (error) {
        // A damaged file is not listed as a backup; the log says which, once.
        this.sayOnce(name, { file: name, err: error }, "a file in the backup directory is not a readable backup");
      }
    }
    return newestFirst(backups);
  }

  async verify(id: string, passphrase?: string): Promise<BackupVerification> {
    // The passphrase first: a request without one fetches nothing from the offsite store.
    const key = await this.passphraseOf(passphrase);
    const file = await this.localFile(id);
    await this.headerOf(id, file);
    return this.serialised(() => verifyBackup(file, key, this.options.dir));
  }

  /**
   * Backup `id`'s file, to hand out as it is (encrypted: without the passphrase it reveals only its header), so that
   * an operator with no shell on the node can keep it elsewhere or restore it on another machine. Its size is read
   * with the header: a file that is not a readable backup is not handed out.
   */
  async fileFor(id: string): Promise<{ path: string; bytes: number }> {
    const path = await this.localFile(id);
    const { size } = await this.headerOf(id, path);
    return { path, bytes: size };
  }

  /**
   * Deletes backup `id`'s file (an operator with no shell on the node frees its disk, or drops a backup that must not
   * be kept), then its offsite copy. After any backup being taken or verified: never under a verify reading it. `by`
   * is who asked, for the log. The directory's file goes first and whatever the store does: an offsite store that is
   * down fails the call with `backup_offsite_unavailable` saying the file is deleted and the copy is left (listed as
   * offsite; the same delete again removes it once the store answers).
   */
  async delete(id: string, by: string): Promise<void> {
    const path = this.fileOf(id);
    const offsite = this.options.offsite;
    const here = await this.serialised(async () => {
      const found = existsSync(path);
      if (found) {
        await rm(path, { force: true });
        this.changed++;
        this.options.logger.info({ backup: id, by }, "backup deleted from the backup directory");
      }
      return found;
    });
    if (!offsite) {
      if (!here) throw new ApiError("not_found", `no backup ${id}`);
      return;
    }
    let there: boolean;
    try {
      there = await this.serialised(async () => {
        if (!(await offsite.has(id))) return false;
        await offsite.remove(id);
        return true;
      });
    } catch (error) {
      if (!here) throw error;
      this.options.logger.warn({ backup: id, by, err: error }, "the backup's offsite copy could not be deleted; it is left in the offsite store");
      const reason = error instanceof ApiError ? error.message : "the offsite backup store (backup.offsite) failed";
      throw new ApiError("backup_offsite_unavailable", `backup ${id} was deleted from the backup directory, but its offsite copy was not: ${reason}. Delete it again once the store answers (it is listed as offsite until then)`);
    }
    if (!here && !there) throw new ApiError("not_found", `no backup ${id}`);
    if (there) this.options.logger.info({ backup: id, by, from: offsite.where }, "backup deleted from the offsite store");
  }

  /**
   * Deletes all but the newest `retain` scheduled backups, in the directory and offsite alike; answers the ids of the
   * backups deleted (one that was in both places counted once). Backups asked for (and those too old to say) are
   * neither counted nor deleted. An offsite store that fails is logged, not thrown: the directory's retention holds.
   */
  async prune(retain: number): Promise<string[]> {
    const listed = await this.listLocal();
    const deleted = new Set<string>();
    for (const backup of listed.filter((one) => one.scheduled === true).slice(retain)) {
      // Listed under its own name (listLocal): this file is that backup, never a copy of it under another name.
      await rm(this.fileOf(backup.id), { force: true });
      deleted.add(backup.id);
    }
    if (deleted.size > 0) this.changed++;
    const offsite = this.options.offsite;
    if (offsite) {
      try {
        const scheduledHere = new Map(listed.map((backup) => [backup.id, backup.scheduled === true]));
        const copies = await offsite.list();
        const scheduled: string[] = [];
        // A copy with no file here says in its metadata whether it was scheduled.
        const unknown = copies.filter((copy) => !scheduledHere.has(copy.id));
        for (const summary of await offsiteSummaries(offsite, unknown)) if (summary.scheduled === true) scheduled.push(summary.id);
        for (const copy of copies) if (scheduledHere.get(copy.id) === true) scheduled.push(copy.id);
        // Ids begin with the time they were taken (kai-backup-<yyyymmddThhmmssZ>-…): their order is the backups' order.
        for (const id of scheduled.sort((a, b) => (a < b ? 1 : -1)).slice(retain)) {
          await offsite.remove(id);
          deleted.add(id);
        }
      } catch (error) {
        this.options.logger.warn({ err: error }, "old offsite backups could not be pruned; the next backup tries again");
      }
    }
    return [...deleted];
  }

  /** Lets go of the offsite store's connections (the node is stopping). */
  close(): void {
    this.options.offsite?.close();
  }

  /** Removes what interrupted backups left behind (see `LEFTOVER`); answers the names removed. Never throws. */
  async sweepLeftovers(now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      if (!LEFTOVER.test(name)) continue;
      const path = join(this.options.dir, name);
      try {
        if (now - (await stat(path)).mtimeMs < LEFTOVER_AGE_MS) continue;
        await rm(path, { recursive: true, force: true });
        removed.push(name);
      } catch {
        // Gone meanwhile, or not ours to remove: the next sweep tries again.
      }
    }
    if (removed.length > 0) this.options.logger.info({ removed }, "removed what interrupted backups left behind");
    return removed;
  }

  /**
   * Backup `id`'s file in the directory; a backup kept only offsite is fetched into the directory first. It stays
   * there until deleted, or, if the schedule took it, pruned by `backup.retain` (one asked for, or taken before
   * `scheduled` was recorded, is never pruned). `not_found` when neither has it.
   */
  private async localFile(id: string): Promise<string> {
    const file = this.fileOf(id);
    if (existsSync(file)) return file;
    const offsite = this.options.offsite;
    if (!offsite) throw new ApiError("not_found", `no backup ${id}`);
    const fetched = await this.serialised(async () => {
      if (existsSync(file)) return true;
      await this.inBackupDir("be created or written", () => mkdir(this.options.dir, { recursive: true, mode: 0o700 }));
      const found = await this.inBackupDir("be written", () => offsite.fetch(id, file));
      if (found) this.changed++;
      return found;
    });
    if (!fetched) throw new ApiError("not_found", `no backup ${id}`);
    this.options.logger.info({ backup: id, from: offsite.where }, "backup fetched from the offsite store");
    return file;
  }

  /**
   * The header of backup `id`'s file, refused as `backup_corrupt` when the file holds another backup (a copy renamed
   * by hand): verify and download answer for the backup asked for, or not at all.
   */
  private async headerOf(id: string, path: string): Promise<{ size: number }> {
    const { header, size } = await readBackupHeader(path);
    if (header.id !== id) {
      throw new ApiError("backup_corrupt", `${id}${BACKUP_SUFFIX} in the backup directory holds the backup ${header.id}, not ${id} (copied or renamed by hand): rename it back, or delete it`);
    }
    return { size };
  }

  /** Says a warning about file `name` of the backup directory once, not at every listing (each scrape lists). */
  private sayOnce(name: string, fields: Record<string, unknown>, message: string): void {
    if (!this.warnedFiles.has(name)) this.options.logger.warn(fields, message);
    this.warnedFiles.add(name);
  }

  private async passphraseOf(given: string | undefined): Promise<string> {
    const passphrase = given ?? this.options.passphrase ?? (await this.options.readPassphrase?.());
    if (passphrase === undefined) throw new ApiError("validation_failed", "a passphrase is needed: give one, or set backup.passphrase (or backup.passphraseSecret)");
    if (passphrase.length < MIN_BACKUP_PASSPHRASE_LENGTH) {
      throw new ApiError("validation_failed", `the backup passphrase must have at least ${MIN_BACKUP_PASSPHRASE_LENGTH} characters`);
    }
    return passphrase;
  }

  /**
   * Runs a step that writes into the backup directory; a file system refusal there (the directory cannot be made, is
   * not writable, or its disk is full) becomes `backup_failed` naming `backup.dir` and the reason, which the operator
   * can act on, instead of an internal error. The work folder's `finally` removes what was written.
   */
  private async inBackupDir<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === undefined || !BACKUP_DIR_REFUSALS.has(code)) throw error;
      const reason = code === "ENOSPC" || code === "EDQUOT" ? "its disk is full" : `it cannot ${what}`;
      throw new ApiError("backup_failed", `the backup could not be written to the backup directory (backup.dir) ${this.options.dir}: ${reason} (${code}); nothing was kept`);
    }
  }

  /** Copies a backup just taken offsite; a failure is counted, logged and answered, and the backup stays local. */
  private async copyOffsite(offsite: OffsiteStore, file: string, taken: CreateBackupResponse): Promise<CreateBackupResponse> {
    try {
      await offsite.put(file, taken);
    } catch (error) {
      this.offsiteFailed++;
      const reason = error instanceof ApiError ? error.message : "the copy failed";
      this.lastCopy = { backup: taken.id, at: new Date().toISOString(), ok: false, reason };
      this.options.logger.warn({ backup: taken.id, err: error }, "the backup's offsite copy failed; it is kept in the backup directory only");
      return { ...taken, offsiteError: reason };
    }
    this.lastCopy = { backup: taken.id, at: new Date().toISOString(), ok: true };
    this.options.logger.info({ backup: taken.id, to: offsite.where }, "backup copied offsite");
    return { ...taken, locations: ["local", "offsite"] };
  }

  /**
   * The vault of a node on the development default opens with `<keyDir>/vault.key` itself, which a backup never carries
   * (it would open the vault for whoever holds the backup's passphrase): said when each such backup is taken, so that
   * the key file is kept with it while the node still has it.
   */
  private keyFileWarning(): string {
    return (
      `this node's vault opens with its key file ${join(this.options.keyDir, VAULT_KEY_FILE)}, not a passphrase, and the backup does not carry that file: ` +
      "it restores a vault that opens only with a copy of it. Keep a copy of vault.key with your backups (as safely as the passphrase), " +
      "or move the vault to a passphrase (kai vault rekey) and take a new backup"
    );
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async take(passphrase: string, withArtifacts: boolean, scheduled: boolean): Promise<CreateBackupResponse> {
    const { storage, store } = this.options;
    if (storage === "memory" || (storage === "postgres" && !store)) {
      throw new ApiError("conflict", `this node keeps its data in ${storage === "memory" ? "memory only: there is nothing durable to back up" : "PostgreSQL, and the backup service was not given its store"}`);
    }
    try {
      return await this.takeNow(passphrase, withArtifacts, scheduled, storage, store);
    } catch (error) {
      this.failed++;
      throw error;
    }
  }

  private async takeNow(passphrase: string, withArtifacts: boolean, scheduled: boolean, storage: "sqlite" | "postgres", store: BackupServiceOptions["store"]): Promise<CreateBackupResponse> {
    const createdAt = new Date();
    const id = newId(createdAt);
    const work = await this.inBackupDir("be created or written", async () => {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      await this.sweepLeftovers(createdAt.getTime());
      return mkdtemp(join(this.options.dir, ".kai-backup-take-"));
    });
    try {
      const into = join(work, "data");
      await mkdir(into, { mode: 0o700 });
      const { counts, vaultUnseal } = await takeSnapshot({
        dataDir: this.options.dataDir,
        keyDir: this.options.keyDir,
        into,
        ...(withArtifacts ? { blobs: await this.options.blobs() } : {}),
        ...(storage === "postgres" && store ? { postgres: store } : {}),
      });
      const { did } = readSourceIdentity(into);
      const manifest: BackupManifest = {
        format: 1,
        id,
        createdAt: createdAt.toISOString(),
        did,
        sourceBackend: storage,
        version: VERSION,
        withArtifacts,
        counts,
        files: await listFiles(into),
      };
      await writeFile(join(into, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      const file = this.fileOf(id);
      const packed = await packFolder(into);
      const header = await this.inBackupDir("be written", () =>
        writeBackup(file, { id, createdAt: manifest.createdAt, did, sourceBackend: storage, withArtifacts, scheduled, vaultUnseal }, passphrase, this.options.kdfIterations, packed),
      );
      const { size } = await readBackupHeader(file);
      this.changed++;
      this.options.logger.info({ backup: id, bytes: size, withArtifacts, scheduled, vaultUnseal }, "backup taken");
      const warnings = vaultUnseal === "key-file" ? [this.keyFileWarning()] : [];
      for (const warning of warnings) this.options.logger.warn({ backup: id }, warning);
      const taken: CreateBackupResponse = { ...summaryOf(header, size, ["local"]), counts, ...(warnings.length > 0 ? { warnings } : {}) };
      return this.options.offsite ? this.copyOffsite(this.options.offsite, file, taken) : taken;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** The listing's facts of a backup from its header (the optional ones only when the header has them). */
function summaryOf(header: BackupHeader, bytes: number, locations: BackupSummary["locations"]): BackupSummary {
  return {
    id: header.id,
    createdAt: header.createdAt,
    did: header.did,
    sourceBackend: header.sourceBackend,
    withArtifacts: header.withArtifacts,
    bytes,
    locations,
    ...(header.scheduled !== undefined ? { scheduled: header.scheduled } : {}),
    ...(header.vaultUnseal !== undefined ? { vaultUnseal: header.vaultUnseal } : {}),
  };
}

/**
 * The listing's facts of offsite copies, read from each object's metadata: one HEAD each, `OFFSITE_HEADS_AT_ONCE` at a
 * time (a bucket may hold hundreds). A copy gone meanwhile, or whose metadata is not a backup's, is left out; a store
 * that fails throws.
 */
async function offsiteSummaries(offsite: OffsiteStore, copies: OffsiteBackup[]): Promise<BackupSummary[]> {
  const summaries: BackupSummary[] = [];
  for (let from = 0; from < copies.length; from += OFFSITE_HEADS_AT_ONCE) {
    for (const summary of await Promise.all(copies.slice(from, from + OFFSITE_HEADS_AT_ONCE).map((copy) => offsite.summaryOf(copy)))) {
      if (summary) summaries.push(summary);
    }
  }
  return summaries;
}

/** Newest first: by the time taken, then by id. */
function newestFirst(backups: BackupSummary[]): BackupSummary[] {
  return backups.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}
