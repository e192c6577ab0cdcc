/**
 * @module commands/artifact
 * `kai artifact upload|download|list|show|share|delete|gc`: artifact storage (issue 17, docs/data/artifacts.md).
 * `upload <file|->` streams the file (or stdin) to the node, which hashes it and keeps one copy per content;
 * `download <id>` writes the bytes to `-o <file>` (default: the artifact's name in the current directory, never
 * overwriting a file; `-o -` is stdout), `--range a-b` only those bytes; `share <id> --ttl 1h` prints a link that
 * works without a token, `share <id> --revoke <shareId>` kills one. `preview <id>` prints what the node can show of it
 * (an excerpt, Markdown's sanitised HTML, an image's size, a PDF's page count); `thumbnail <id> -o <file>` writes an
 * image's WebP thumbnail. `gc [--dry-run]` (admin) runs the blob store's garbage collection now (or counts what it would
 * remove). `--json` prints the node's documents.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { parseDurationSeconds, SHARE_TTL_MAX_SECONDS, type Artifact, type ArtifactPreview } from "@kai/protocol";
import { addGlobalOptions, collectList, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";
import { writeDownload } from "../download-file.js";
import { cell, formatKeyValues } from "../output.js";

const sizeText = (bytes: number) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;

function printArtifact(out: ReturnType<typeof contextOf>["out"], artifact: Artifact): void {
  out.line(
    formatKeyValues([
      ["id", artifact.id],
      ["name", artifact.name],
      ["type", artifact.contentType],
      ["size", `${sizeText(artifact.size)} (${artifact.size} bytes)`],
      ["sha256", artifact.sha256],
      ["uploader", artifact.uploader],
      ["tags", cell(artifact.tags.join(", ") || undefined)],
      ["created", artifact.createdAt],
      ["encrypted", artifact.encrypted ? "yes" : "no"],
    ]),
  );
}

/** A preview as text; `out.line` makes what the uploaded file holds safe for a terminal (output.ts `terminalSafe`). */
function printPreview(out: ReturnType<typeof contextOf>["out"], id: string, preview: ArtifactPreview): void {
  switch (preview.kind) {
    case "none":
    case "unavailable":
      return out.line(`(${preview.reason})`);
    case "text":
    case "json":
      out.line(preview.excerpt);
      if (preview.truncated) out.line("… (cut: download it for the rest)");
      return;
    case "markdown":
      out.info(`Markdown rendered to sanitised HTML${preview.remoteImages > 0 ? ` (${preview.remoteImages} remote image(s) not loaded: data-remote-src)` : ""}${preview.truncated ? "; only its start" : ""}`);
      return out.line(preview.html);
    case "image":
      return out.line(`${preview.contentType}, ${preview.width} × ${preview.height} pixels; thumbnail: kai artifact thumbnail ${id} -o <file.webp>`);
    case "pdf":
      return out.line(`PDF, ${preview.pages} page${preview.pages === 1 ? "" : "s"}${preview.title !== null ? `; title: ${preview.title}` : ""}${preview.encrypted ? " (encrypted)" : ""}`);
  }
}

/** The last path segment of a file name (the node refuses names with slashes). */
const baseName = (path: string) => path.split(/[/\\]/).filter(Boolean).pop() ?? path;

function uploadCommand(): Command {
  const command = new Command("upload")
    .description("upload a file (streamed; identical bytes are stored once) (scope artifacts:write)")
    .argument("<file>", "the file; `-` reads stdin")
    .option("--name <name>", "the artifact's name (default: the file's name)")
    .option("--tag <tag>", "a tag (repeatable, or comma separated)", collectList)
    .option("--type <mime>", "what the bytes are (believed only for text: the node sniffs the content type)");
  addGlobalOptions(command);
  return command.action(async (file: string, flags: { name?: string; tag?: string[]; type?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const name = flags.name ?? (file === "-" ? undefined : baseName(file));
    const source = file === "-" ? process.stdin : createReadStream(file);
    // A missing or unreadable file is the caller's mistake: say so before anything is sent.
    if (file !== "-") await new Promise<void>((resolve, reject) => (source as ReturnType<typeof createReadStream>).once("open", () => resolve()).once("error", (error) => reject(usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error.message}`))));
    const body = Readable.toWeb(source) as ReadableStream<Uint8Array>;
    const result = await client().artifacts.upload(body, { ...(name !== undefined ? { name } : {}), ...(flags.tag ? { tags: flags.tag } : {}), ...(flags.type ? { contentType: flags.type } : {}) });
    if (out.json) return out.document(result);
    out.line(result.artifact.id);
    const how = !result.created ? "you already had it under this name" : result.deduplicated ? "stored once already: no new bytes written" : "stored";
    out.info(`${result.artifact.name}: ${sizeText(result.artifact.size)}, ${result.artifact.contentType}, sha256 ${result.artifact.sha256.slice(0, 16)}… (${how})`);
  });
}

function parseRangeFlag(text: string): { start: number; end?: number } {
  const match = /^(\d+)-(\d*)$/.exec(text.trim());
  if (!match) throw usageError("--range must be start-end or start- (bytes, counted from 0)");
  const start = Number(match[1]);
  if (match[2] === "") return { start };
  const end = Number(match[2]);
  if (end < start) throw usageError("--range: the end comes before the start");
  return { start, end };
}

function downloadCommand(): Command {
  const command = new Command("download")
    .description("download an artifact's bytes (scope artifacts:read)")
    .argument("<id>", "the artifact's id")
    .option("-o, --output <file>", "where to write (default: the artifact's name here, never overwritten; `-` for stdout)")
    .option("--range <a-b>", "only these bytes (from 0, inclusive; `a-` to the end)");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { output?: string; range?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const range = flags.range !== undefined ? parseRangeFlag(flags.range) : undefined;
    const output = flags.output ?? (await client().artifacts.get(id)).name;
    const download = await client().artifacts.download(id, range ? { range } : {});
    await writeDownload(download.body, output);
    if (output !== "-") out.info(`${output}: ${sizeText(download.length)}${download.status === 206 ? " (a range)" : ""}`);
  });
}

function listCommand(): Command {
  const command = new Command("list")
    .alias("ls")
    .description("your artifacts, newest first (every uploader's for an admin) (scope artifacts:read)")
    .option("--tag <tag>", "only those with this tag")
    .option("--type <mime>", "only this content type (`image/png`, or `image/*`)")
    .option("--uploader <owner>", "only this uploader's (admins)")
    .option("--search <text>", "part of the name")
    .option("--limit <n>", "at most this many", "50");
  addGlobalOptions(command);
  return command.action(async (flags: { tag?: string; type?: string; uploader?: string; search?: string; limit: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw usageError("--limit must be 1 to 500");
    const page = await client().artifacts.list({
      limit,
      ...(flags.tag ? { tag: flags.tag } : {}),
      ...(flags.type ? { type: flags.type } : {}),
      ...(flags.uploader ? { uploader: flags.uploader } : {}),
      ...(flags.search ? { q: flags.search } : {}),
    });
    if (out.json) return out.document(page);
    out.table(["ID", "NAME", "TYPE", "SIZE", "CREATED", "TAGS"], page.artifacts.map((item) => [item.id, item.name, item.contentType, sizeText(item.size), item.createdAt, item.tags.join(",")]), "no artifacts");
  });
}

function showCommand(): Command {
  const command = new Command("show")
    .description("an artifact's metadata (scope artifacts:read)")
    .argument("<id>", "the artifact's id")
    .option("--preview", "also its preview (as `kai artifact preview`)");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { preview?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const artifact = await client().artifacts.get(id);
    const preview = flags.preview ? await client().artifacts.preview(id) : undefined;
    if (out.json) return out.document(preview ? { artifact, preview } : { artifact });
    printArtifact(out, artifact);
    if (!preview) return;
    out.line("");
    printPreview(out, id, preview);
  });
}

function previewCommand(): Command {
  const command = new Command("preview")
    .description("what the node can show of an artifact: text/JSON excerpt, Markdown as sanitised HTML, image size, PDF page count (scope artifacts:read)")
    .argument("<id>", "the artifact's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const preview = await client().artifacts.preview(id);
    if (out.json) return out.document({ preview });
    printPreview(out, id, preview);
  });
}

function thumbnailCommand(): Command {
  const command = new Command("thumbnail")
    .description("write an image artifact's thumbnail (WebP, at most 256 px) (scope artifacts:read)")
    .argument("<id>", "the artifact's id")
    .option("-o, --out <file>", "where to write (default: <id>.webp here, never overwritten; `-` for stdout)");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { out?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    const thumbnail = await client().artifacts.thumbnail(id);
    const target = flags.out ?? `${id}.webp`;
    if (target === "-") {
      process.stdout.write(thumbnail.bytes);
      return;
    }
    await writeFile(target, thumbnail.bytes, { flag: flags.out === undefined ? "wx" : "w" });
    if (out.json) return out.document({ file: target, bytes: thumbnail.bytes.length, contentType: thumbnail.contentType });
    out.info(`${target}: ${sizeText(thumbnail.bytes.length)} (${thumbnail.contentType})`);
  });
}

function shareCommand(): Command {
  const command = new Command("share")
    .description("print a link that opens the artifact without a token, until it expires or is revoked (scope artifacts:write)")
    .argument("<id>", "the artifact's id")
    .option("--ttl <duration>", "how long the link works (e.g. 15m, 1h, 7d; at most 7d)", "1h")
    .option("--revoke <shareId>", "revoke this share link instead");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { ttl: string; revoke?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    if (flags.revoke !== undefined) {
      await client().artifacts.revokeShare(id, flags.revoke);
      if (out.json) return out.document({ revoked: flags.revoke });
      return out.info(`share ${flags.revoke} revoked: its link no longer opens`);
    }
    const seconds = parseDurationSeconds(flags.ttl);
    if (seconds === undefined || seconds < 1 || seconds > SHARE_TTL_MAX_SECONDS) throw usageError("--ttl must be a duration from 1s to 7d (e.g. 1h)");
    const share = await client().artifacts.share(id, seconds);
    if (out.json) return out.document({ share });
    out.line(share.url);
    out.info(`expires ${share.expiresAt}; revoke with: kai artifact share ${id} --revoke ${share.id}`);
  });
}

function deleteCommand(): Command {
  const command = new Command("delete")
    .alias("rm")
    .description("delete an artifact; its share links stop working (scope artifacts:write)")
    .argument("<id>", "the artifact's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().artifacts.delete(id);
    if (out.json) return out.document({ deleted: id });
    out.info(`artifact ${id} deleted`);
  });
}

function gcCommand(): Command {
  const command = new Command("gc")
    .description("remove leftover blobs now: staged uploads that never completed and blobs no artifact names, older than artifacts.gc.graceHours (scope admin)")
    .option("--dry-run", "only count what would be removed");
  addGlobalOptions(command);
  return command.action(async (flags: { dryRun?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const answer = await client().artifacts.gc({ dryRun: flags.dryRun === true });
    if (out.json) return out.document(answer);
    const { result } = answer;
    out.line(
      formatKeyValues([
        [answer.dryRun ? "staged uploads to remove" : "staged uploads removed", String(result.stagedRemoved)],
        [answer.dryRun ? "orphan blobs to remove" : "orphan blobs removed", String(result.orphansRemoved)],
        [answer.dryRun ? "bytes to free" : "bytes freed", `${sizeText(result.bytesFreed)} (${result.bytesFreed} bytes)`],
        ["blobs kept", String(result.kept)],
        ["grace", `${answer.graceHours} h (nothing younger is removed)`],
      ]),
    );
    if (answer.dryRun) out.info("a dry run: nothing was removed");
  });
}

export function artifactCommand(): Command {
  return new Command("artifact")
    .description("artifact storage: files uploaded to the node, stored once per content, shared by signed links")
    .addCommand(uploadCommand())
    .addCommand(downloadCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(previewCommand())
    .addCommand(thumbnailCommand())
    .addCommand(shareCommand())
    .addCommand(deleteCommand())
    .addCommand(gcCommand());
}
