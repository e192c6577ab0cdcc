/**
 * @module commands/backup
 * `kai backup create|list|verify|download|delete|restore` (issue 19, docs/operations/backup.md):
 * - `create`, `list`, `verify ID`: through the node's API (scope `backup:admin`): the node takes the backup while it
 *   serves and keeps it in its backup directory (and copies it to its offsite store with `backup.offsite`; `list`
 *   says where each is, and a backup kept only offsite is fetched back by the node for `verify` and `download`);
 * - `download ID`: the backup's file, as it is (encrypted), from the node to here: kept elsewhere, or restored on a
 *   machine with no copy of the node's backup directory; `delete ID`: its file and its offsite copy;
 * - `verify --file FILE`: local, no node: the same proof (decrypt, hashes, scratch restore) on a file copied elsewhere;
 * - `restore FILE [--data-dir DIR]`: local, the node stopped: onto an empty data directory (SQLite; default: where
 *   `kai serve` would look, KAI_DATA_DIR or `--config`'s dataDir) or, with `--to` or
 *   `--postgres`, an empty PostgreSQL database (SQLite is refused while KAI_DATABASE_URL, KAI_STORAGE_KIND or
 *   `--config` would start the node on PostgreSQL: `kai serve` would never read what was restored); `restore ID
 *   --offsite` fetches the backup from the offsite store the node's configuration names first. The server package's
 *   `restoreBackup` does the work, imported lazily like `kai storage copy` does.
 * The backup's passphrase is read from `KAI_BACKUP_PASSPHRASE`, or stdin/a prompt with `--passphrase` (never argv:
 * other users can read it); `create` and `verify ID` without either use the node's `backup.passphrase`. A passphrase
 * shorter than the 8 characters every backup has is refused here, naming where it came from (the node would only
 * name the request body's field). A backup file given here that is missing, a directory or unreadable is a usage
 * error (exit 2) naming it, before anything is decrypted or written.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { access, constants, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { BackupIdSchema, MIN_BACKUP_PASSPHRASE_LENGTH, type BackupVerification } from "@kai/protocol";
import type * as ServerModule from "@kai/server";
import { isApiError, reworded } from "../api-hints.js";
import { assertNewOutput, writeDownload } from "../download-file.js";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError, configUsageError, serverPackageError, usageError } from "../cli-error.js";
import { EXIT, exitCodeForApiCode } from "../exit-codes.js";
import { createOutput, type Output, verificationCell } from "../output.js";
import { readSecret } from "../secret-input.js";

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/** The server package, imported lazily by the commands that work without a node (its types only here). */
type ServerPackage = typeof ServerModule;

/** The passphrase: asked for (`--passphrase`), else KAI_BACKUP_PASSPHRASE, else none (`required`: an error). */
async function passphraseOf(ask: boolean | undefined, required: boolean): Promise<string | undefined> {
  const env = process.env.KAI_BACKUP_PASSPHRASE;
  const fromEnv = !ask && env !== undefined && env !== "";
  const passphrase = fromEnv ? env : ask || required ? await readSecret({ what: "backup passphrase" }) : undefined;
  if (passphrase !== undefined && passphrase.length < MIN_BACKUP_PASSPHRASE_LENGTH) {
    throw usageError(`${fromEnv ? "KAI_BACKUP_PASSPHRASE" : "--passphrase"} must have at least ${MIN_BACKUP_PASSPHRASE_LENGTH} characters`);
  }
  return passphrase;
}

/** What a file system refusal on a path of the user's (`--data-dir`, `--key-dir`) means, in words. */
const PATH_REFUSALS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of it is not a directory",
  EEXIST: "it exists, and is not a directory",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "a read-only file system",
};

/**
 * A file system refusal on one of `given` (the folders the user named) or below as a usage error (exit 2) naming the
 * path, else undefined: a refusal elsewhere (the temporary folder) is not the user's to fix by another flag.
 */
function localPathError(error: unknown, given: string[]): CliError | undefined {
  const { code, path } = error as NodeJS.ErrnoException;
  if (code === undefined || typeof path !== "string" || PATH_REFUSALS[code] === undefined) return undefined;
  if (!given.some((dir) => path === dir || path.startsWith(`${dir}/`))) return undefined;
  return usageError(`${path}: ${PATH_REFUSALS[code]} (${code})`);
}

/** A backup file to read here: a usage error (exit 2) naming it when it is missing, a directory or unreadable. */
async function backupFileHere(path: string): Promise<string> {
  const file = resolve(path);
  try {
    if ((await stat(file)).isDirectory()) throw usageError(`${path} is a directory: give a backup file (.kaibak)`);
    await access(file, constants.R_OK);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError(code === "ENOENT" || code === "ENOTDIR" ? `${path}: no such file` : `${path}: cannot read it (${code ?? "unreadable"})`);
  }
  return file;
}

function printVerification(out: Output, verification: BackupVerification): void {
  if (out.json) return out.document(verification);
  out.table(["WHAT", "BACKUP", "RESTORED", "CHECK"], verification.rows.map((row) => [row.kind, verificationCell(row.expected), verificationCell(row.restored), row.ok ? "ok" : "DIFFERENT"]), "nothing compared");
  out.info(`${verification.id}: ${verification.files} files, hashes match; ${verification.ok ? "restores" : "DOES NOT restore as it should"}`);
}

function failIfNotOk(verification: BackupVerification): void {
  if (verification.ok) return;
  const different = verification.rows.filter((row) => !row.ok).map((row) => row.kind.trim());
  throw new CliError(`the backup does not restore as its manifest says (${different.join(", ")})`, "backup_corrupt", EXIT.unexpected);
}

/**
 * The node asks for "a passphrase" when none came with the request and it has none configured; here that is
 * `--passphrase` or KAI_BACKUP_PASSPHRASE, which its message cannot name.
 */
function withPassphraseHint(error: unknown): unknown {
  if (!isApiError(error, "validation_failed", "a passphrase is needed")) return error;
  return reworded(error, "a passphrase is needed: give one with --passphrase (read from stdin or a prompt) or KAI_BACKUP_PASSPHRASE, or set the node's backup.passphrase (or backup.passphraseSecret)");
}

function createCommand(): Command {
  const command = new Command("create")
    .description("take a backup of everything the node holds, while it serves (backup:admin)")
    .option("--with-artifacts", "also carry the artifacts' bytes")
    .option("--passphrase", "read the backup's passphrase from stdin or a prompt (else KAI_BACKUP_PASSPHRASE, else the node's backup.passphrase)");
  addGlobalOptions(command);
  return command.action(async (flags: { withArtifacts?: boolean; passphrase?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const passphrase = await passphraseOf(flags.passphrase, false);
    const created = await client()
      .backups.create({ ...(passphrase !== undefined ? { passphrase } : {}), ...(flags.withArtifacts ? { withArtifacts: true } : {}) })
      .catch((error: unknown) => {
        throw withPassphraseHint(error);
      });
    if (out.json) {
      out.document(created);
    } else {
      out.table(["WHAT", "COUNT"], Object.entries(created.counts).map(([kind, count]) => [kind, String(count)]), "nothing counted");
      out.line(`${created.id} (${created.bytes} bytes${created.locations?.includes("offsite") ? ", copied offsite" : ""})`);
    }
    // What the restore will need beyond the passphrase (a vault on its key file): said on stderr, --json or not.
    for (const warning of created.warnings ?? []) out.warn(warning);
    // The backup is taken and kept; only its offsite copy failed: a job running this must hear of it.
    if (created.offsiteError !== undefined) {
      throw new CliError(`${created.id} was taken and is kept in the node's backup directory, but its offsite copy failed: ${created.offsiteError}`, "backup_offsite_unavailable", exitCodeForApiCode("backup_offsite_unavailable"));
    }
  });
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("the backups in the node's backup directory and offsite store, newest first (backup:admin)");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const listing = await client().backups.listing();
    if (out.json) return out.document(listing);
    // TAKEN: `schedule` (pruned by backup.retain) or `request` (kept until deleted); `-`: a backup too old to say, kept too.
    out.table(
      ["ID", "CREATED", "BYTES", "ARTIFACTS", "FROM", "TAKEN", "WHERE"],
      listing.backups.map((backup) => [
        backup.id,
        backup.createdAt,
        String(backup.bytes),
        backup.withArtifacts ? "bytes" : "metadata",
        backup.sourceBackend,
        backup.scheduled === undefined ? "-" : backup.scheduled ? "schedule" : "request",
        (backup.locations ?? ["local"]).join("+"),
      ]),
      "no backups (kai backup create takes one)",
    );
    if (listing.offsiteError !== undefined) out.warn(`the offsite store could not be listed, so only the backup directory's backups are shown: ${listing.offsiteError}`);
  });
}

function downloadCommand(): Command {
  const command = new Command("download")
    .description("copy a backup's file from the node to here, as it is (encrypted) (backup:admin)")
    .argument("<id>", "the backup's id (kai backup list)")
    .option("-o, --output <file>", "where to write (default: <id>.kaibak here, never overwritten; `-` for stdout)");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { output?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    // Before asking the node: a bad -o must not cost a download (nor an offsite fetch by the node).
    if (flags.output !== undefined) await assertNewOutput(flags.output);
    const download = await client().backups.download(id);
    const output = flags.output ?? download.fileName;
    // 0600: the file is encrypted, but whose it is and when it was taken are in its header.
    await writeDownload(download.body, output, 0o600);
    if (output !== "-") out.info(`${output}: ${download.bytes} bytes (check it with: kai backup verify --file ${output})`);
  });
}

function deleteCommand(): Command {
  const command = new Command("delete")
    .alias("rm")
    .description("delete a backup's file from the node's backup directory (backup:admin)")
    .argument("<id>", "the backup's id (kai backup list)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().backups.delete(id);
    if (out.json) return out.document({ deleted: id });
    out.info(`backup ${id} deleted`);
  });
}

function verifyCommand(): Command {
  const command = new Command("verify")
    .description("prove a backup restores: decrypt, check every hash, restore into a scratch database and compare (backup:admin; --file: local)")
    .argument("[id]", "a backup in the node's backup directory")
    .option("--file <file>", "verify a backup file here instead (no node needed)")
    .option("--passphrase", "read the backup's passphrase from stdin or a prompt (else KAI_BACKUP_PASSPHRASE)");
  addGlobalOptions(command);
  return command.action(async (id: string | undefined, flags: { file?: string; passphrase?: boolean }, self: Command) => {
    if (id !== undefined && flags.file !== undefined) throw usageError("give a backup id or --file <file>, not both");
    if (id === undefined && flags.file === undefined) throw usageError("give a backup id, or --file <file>");
    if (flags.file !== undefined) {
      const out = createOutput({ json: self.optsWithGlobals<{ json?: boolean }>().json === true, quiet: false });
      const file = await backupFileHere(flags.file);
      const passphrase = (await passphraseOf(flags.passphrase, true)) ?? "";
      const { verifyBackup } = await import("@kai/server");
      let verification: BackupVerification;
      try {
        verification = await verifyBackup(file, passphrase);
      } catch (error) {
        throw serverPackageError(error, exitCodeForApiCode);
      }
      printVerification(out, verification);
      return failIfNotOk(verification);
    }
    const { out, client } = contextOf(self);
    const passphrase = await passphraseOf(flags.passphrase, false);
    const verification = await client().backups.verify(id!, passphrase).catch((error: unknown) => {
      throw withPassphraseHint(error);
    });
    printVerification(out, verification);
    failIfNotOk(verification);
  });
}

interface RestoreFlags {
  dataDir?: string;
  offsite?: boolean;
  config?: string;
  keyDir?: string;
  to?: string;
  postgres?: boolean;
  force?: boolean;
  passphrase?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function restoreCommand(): Command {
  return new Command("restore")
    .description("restore a backup onto an empty, stopped node: its SQLite data directory, or an empty PostgreSQL database")
    .argument("<file>", "the backup file (.kaibak); with --offsite, the backup's id")
    .option("--data-dir <dir>", "the node's data directory (its public key goes here; and kai.db, unless --to/--postgres); default: KAI_DATA_DIR, else --config's dataDir, as kai serve would")
    .option("--key-dir <dir>", "where the node keeps audit.key (its vault.keyDir), when not in --data-dir")
    .option("--to <url>", "restore into this PostgreSQL database, postgres://… (prefer --postgres: argv is visible to other users)")
    .option("--postgres", "restore into the PostgreSQL database in KAI_DATABASE_URL")
    .option("--config <file>", "the restored node's config file: the artifacts' bytes go where its `artifacts` section says (S3, or artifacts.path); default <data-dir>/artifacts")
    .option("--offsite", "fetch the backup <file> names by id from the offsite store of the node's config (--config and KAI_* variables: backup.offsite), e.g. after its disk was lost")
    .option("--force", "empty a target that is not empty first, and replace another node's files (everything there is lost, except a vault.key, renamed aside)")
    .option("--passphrase", "read the backup's passphrase from stdin or a prompt (else KAI_BACKUP_PASSPHRASE)")
    .option("--json", "the verification as JSON on stdout (errors also as JSON on stderr)")
    .option("-q, --quiet", "no progress lines on stderr")
    .action(async (file: string, flags: RestoreFlags) => {
      const out = createOutput({ json: flags.json === true, quiet: flags.quiet === true });
      const url = flags.to ?? (flags.postgres ? process.env.KAI_DATABASE_URL : undefined);
      if (flags.postgres && (url === undefined || url === "")) throw usageError("--postgres needs KAI_DATABASE_URL");
      // Not echoed: a malformed URL may still hold the password.
      if (url !== undefined && !POSTGRES_URL.test(url)) throw usageError("--to must be a postgres:// or postgresql:// URL");
      if (flags.offsite && !BackupIdSchema.safeParse(file).success) throw usageError(`with --offsite, give the backup's id (kai-backup-<time>-<suffix>, as kai backup list shows it), not "${file}"`);
      const local = flags.offsite ? undefined : await backupFileHere(file);
      const { restoreBackup, postgresTarget, scrubPassword, loadConfig, openBlobBackend, openOffsiteStore } = await import("@kai/server");
      /** The restored node's config, read as `kai serve` would (`--config` if given, and the KAI_* layers). */
      const readConfig = () => {
        try {
          return loadConfig({
            ...(flags.config !== undefined ? { configFile: resolve(flags.config) } : {}),
            env: process.env,
            overrides: flags.dataDir !== undefined ? { dataDir: resolve(flags.dataDir) } : {},
          });
        } catch (error) {
          throw configUsageError(error) ?? serverPackageError(error, exitCodeForApiCode);
        }
      };
      // Read once, before the passphrase is asked; also what --offsite fetches from.
      const config = flags.config !== undefined ? readConfig() : undefined;
      const dataDir = restoreDataDir(flags, config, out);
      if (url === undefined) refuseSqliteForPostgresNode(flags, dataDir, config);
      const passphrase = (await passphraseOf(flags.passphrase, true)) ?? "";
      const fetched = flags.offsite ? await fetchFromOffsite(file, config ?? readConfig(), openOffsiteStore) : undefined;
      // Where the bytes go, as the node will find them: where its config's `artifacts` section says.
      let blobs: Awaited<ReturnType<typeof openBlobBackend>> | undefined;
      if (config !== undefined) {
        try {
          blobs = await openBlobBackend(config);
        } catch (error) {
          throw configUsageError(error) ?? serverPackageError(error, exitCodeForApiCode);
        }
      }
      const scrub = (text: string) => (url === undefined ? text : scrubPassword(text, url));
      let report: Awaited<ReturnType<typeof restoreBackup>>;
      const steps = out.steps();
      try {
        report = await restoreBackup({
          file: fetched?.file ?? local ?? resolve(file),
          passphrase,
          dataDir,
          ...(flags.keyDir !== undefined ? { keyDir: resolve(flags.keyDir) } : {}),
          ...(url !== undefined ? { to: postgresTarget(url) } : {}),
          ...(blobs !== undefined ? { blobs } : {}),
          force: flags.force === true,
          onProgress: (line) => steps.line(scrub(line)),
        });
      } catch (error) {
        const given = [dataDir, ...(flags.keyDir !== undefined ? [resolve(flags.keyDir)] : [])];
        throw localPathError(error, given) ?? serverPackageError(error, exitCodeForApiCode, scrub);
      } finally {
        steps.end();
        if (fetched) rmSync(fetched.dir, { recursive: true, force: true });
      }
      if (out.json) {
        out.document({ id: report.header.id, did: report.copy.did, ok: report.copy.ok, to: report.copy.to, blobs: report.blobs, rows: report.copy.rows, notes: report.notes });
      } else {
        out.table(["WHAT", "BACKUP", "RESTORED", "CHECK"], report.copy.rows.map((row) => [row.kind, verificationCell(row.source), verificationCell(row.target), row.ok ? "ok" : "DIFFERENT"]), "nothing compared");
        out.info(`restored ${report.header.id} → ${report.copy.to} (node ${report.copy.did})`);
        for (const note of report.notes) out.info(`note: ${note}`);
      }
      if (!report.copy.ok) {
        const different = report.copy.rows.filter((row) => !row.ok).map((row) => row.kind.trim());
        throw new CliError(`the restored node does not match the backup (${different.join(", ")}); fix the cause and restore again with --force`, "copy_mismatch", EXIT.unexpected);
      }
    });
}

/**
 * Where the restore writes the node's files (and `kai.db` on SQLite): `--data-dir`, else where `kai serve` would look
 * with the same environment and `--config`: KAI_DATA_DIR, else the config file's `dataDir` (its default `./data` when
 * `--config` names none). Before, `--data-dir` was required and KAI_DATA_DIR ignored, so a node run with KAI_DATA_DIR
 * (a systemd unit's Environment=, a container's) could be restored where it never looked. With neither `--data-dir`,
 * KAI_DATA_DIR nor `--config`, a usage error: a restore does not guess a folder. A `--data-dir` other than
 * KAI_DATA_DIR is said (the node must then be started with that `--data-dir`).
 */
function restoreDataDir(flags: RestoreFlags, config: { dataDir: string } | undefined, out: Output): string {
  const fromEnv = process.env.KAI_DATA_DIR ? resolve(process.env.KAI_DATA_DIR) : undefined;
  if (flags.dataDir !== undefined) {
    const dataDir = resolve(flags.dataDir);
    if (fromEnv !== undefined && fromEnv !== dataDir) {
      out.info(`note: KAI_DATA_DIR is ${fromEnv}; start the restored node with --data-dir ${dataDir}, or kai serve opens ${fromEnv}`);
    }
    return dataDir;
  }
  if (config !== undefined) return resolve(config.dataDir);
  if (fromEnv !== undefined) return fromEnv;
  throw usageError("say where the node's data goes: --data-dir <dir> (or KAI_DATA_DIR, or --config with the node's dataDir)");
}

/**
 * A restore into SQLite (`<data-dir>/kai.db`) for a node that `kai serve` would start on PostgreSQL, by the same
 * environment (KAI_DATABASE_URL alone selects it; KAI_STORAGE_KIND) or by `--config`'s `storage.kind`: refused as a
 * usage error. Restored there, the node would never be read: `kai serve` would open PostgreSQL instead and, on an empty
 * database, start a new, empty node with an identity of its own beside the restored node's key files.
 */
function refuseSqliteForPostgresNode(flags: RestoreFlags, dataDir: string, config: { storage: { kind: string } } | undefined): void {
  // The environment's layer is above the config file's, as in `kai serve` (config/load-config.ts).
  const { KAI_STORAGE_KIND: kind, KAI_DATABASE_URL: databaseUrl } = process.env;
  let why: string;
  let otherwise: string;
  if (kind) {
    if (kind !== "postgres") return;
    [why, otherwise] = ["KAI_STORAGE_KIND is postgres", "unset KAI_STORAGE_KIND"];
  } else if (databaseUrl) {
    [why, otherwise] = ["KAI_DATABASE_URL is set", "unset KAI_DATABASE_URL"];
  } else if (config?.storage.kind === "postgres") {
    [why, otherwise] = [`${flags.config} says storage.kind: postgres`, "give the config of a node on SQLite"];
  } else {
    return;
  }
  throw usageError(
    `${why}: kai serve would run this node on PostgreSQL, not on ${join(dataDir, "kai.db")}. ` +
      `Restore into its database with --postgres (KAI_DATABASE_URL) or --to <url>; to restore into SQLite, ${otherwise}`,
  );
}

/**
 * Backup `id` fetched from the offsite store the node's configuration names (`--config` and KAI_* variables, read as
 * `kai serve` reads them) into a private temporary folder, removed once restored. No store configured: a usage error;
 * the bucket without that backup: exit 3.
 */
async function fetchFromOffsite(
  id: string,
  config: Parameters<ServerPackage["openOffsiteStore"]>[0],
  openOffsiteStore: ServerPackage["openOffsiteStore"],
): Promise<{ dir: string; file: string }> {
  let store;
  try {
    store = openOffsiteStore(config);
  } catch (error) {
    throw configUsageError(error) ?? serverPackageError(error, exitCodeForApiCode);
  }
  if (!store) throw usageError("--offsite needs the node's offsite store: backup.offsite.store s3 and its bucket, in --config or KAI_* variables");
  const dir = mkdtempSync(join(tmpdir(), "kai-restore-"));
  const file = join(dir, `${id}.kaibak`);
  try {
    const found = await store.fetch(id, file);
    if (!found) throw new CliError(`the offsite store (${store.where}) holds no backup ${id}`, "not_found", EXIT.notFound);
    return { dir, file };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error instanceof CliError ? error : serverPackageError(error, exitCodeForApiCode);
  } finally {
    store.close();
  }
}

export function backupCommand(): Command {
  return new Command("backup")
    .description("encrypted backups of everything the node holds: take, list, verify, download, delete, restore")
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(verifyCommand())
    .addCommand(downloadCommand())
    .addCommand(deleteCommand())
    .addCommand(restoreCommand());
}
