/**
 * @module commands/storage
 * `kai storage copy`: moves a stopped node's data from its SQLite data directory into PostgreSQL (services,
 * tokens, vault, federation, node identity), verifies it kind by kind and prints the comparison. The work is
 * the server package's `copyStorage` (storage/copy/), imported lazily like `kai serve` does, so the other
 * commands never load a database driver. The target URL usually carries a password: it is read from
 * `KAI_DATABASE_URL` when `--to` is not given (argv is visible to other users), and every line this command
 * prints, errors included, has the password masked.
 */
import { resolve } from "node:path";
import { Command } from "commander";
import { CliError, serverPackageError, usageError } from "../cli-error.js";
import { EXIT, exitCodeForApiCode } from "../exit-codes.js";
import { createOutput, verificationCell } from "../output.js";

interface CopyFlags {
  from: string;
  keyDir?: string;
  to?: string;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export function storageCommand(): Command {
  const storage = new Command("storage").description("move a node's data between storage backends");
  storage.addCommand(
    new Command("copy")
      .description("copy a stopped node's SQLite data directory into an empty PostgreSQL database, then verify the copy")
      .requiredOption("--from <dir>", "the node's data directory (holds kai.db); the node must be stopped")
      .option("--key-dir <dir>", "where the node keeps audit.key and vault.key, when not in --from (its vault.keyDir)")
      .option("--to <url>", "target database, postgres://user:password@host:5432/db (env KAI_DATABASE_URL; prefer it: argv is visible to other users)")
      .option("--force", "empty a target that is not empty first (everything in it is lost)")
      .option("--json", "the verification as JSON on stdout (errors also as JSON on stderr)")
      .option("-q, --quiet", "no progress lines on stderr")
      .action(copyAction),
  );
  return storage;
}

async function copyAction(flags: CopyFlags): Promise<void> {
  const out = createOutput({ json: flags.json === true, quiet: flags.quiet === true });
  const url = flags.to ?? process.env.KAI_DATABASE_URL;
  if (url === undefined || url === "") throw usageError("--to <postgres url> is required (or set KAI_DATABASE_URL)");
  // Not echoed: a malformed URL may still hold the password.
  if (!POSTGRES_URL.test(url)) throw usageError("--to must be a postgres:// or postgresql:// URL");
  const { copyStorage, postgresTarget, scrubPassword } = await import("@kai/server");
  const scrub = (text: string) => scrubPassword(text, url);

  let report: Awaited<ReturnType<typeof copyStorage>>;
  const steps = out.steps();
  try {
    report = await copyStorage({
      from: resolve(flags.from),
      ...(flags.keyDir !== undefined ? { keyDir: resolve(flags.keyDir) } : {}),
      to: postgresTarget(url),
      force: flags.force === true,
      onProgress: (line) => steps.line(scrub(line)),
    });
  } catch (error) {
    throw serverPackageError(error, exitCodeForApiCode, scrub);
  } finally {
    steps.end();
  }

  if (out.json) {
    out.document(report);
  } else {
    out.table(
      ["WHAT", "SOURCE", "TARGET", "CHECK"],
      report.rows.map((row) => [row.kind, verificationCell(row.source), verificationCell(row.target), row.ok ? "ok" : "DIFFERENT"]),
      "nothing to compare",
    );
    out.info(`copied ${report.from} → ${report.to} (node ${report.did}, new registry epoch ${report.epoch.target})`);
    for (const note of report.notes) out.info(`note: ${note}`);
  }
  if (!report.ok) {
    const different = report.rows.filter((row) => !row.ok).map((row) => row.kind.trim());
    throw new CliError(`the target does not match the source (${different.join(", ")}); fix the cause and copy again with --force`, "copy_mismatch", EXIT.unexpected);
  }
}

