/**
 * @module commands/plugin-lifecycle
 * `kai plugin install|remove|history|rollback|update` (docs/plugins.md "Install, update, remove, roll back"), scope
 * `plugins:admin`:
 * - `install FOLDER|TARBALL [--replace]`: a folder is packed as it is sent (a gzip-compressed tar, its files at the
 *   root, portable: no owners, no modification times), streamed so its size never sits in memory; a .tar.gz is sent as
 *   it is. `--replace`: an installed version moves to the node's history instead of a refusal.
 * - `remove ID [--purge]`: into the history (roll back to restore it), or deleted for good;
 * - `history ID`: the installed version and the kept ones, newest first;
 * - `rollback ID [--to VERSION]`: the newest kept version (or the newest of VERSION) back in place;
 * - `update ID --manifest FILE|URL [--force]`: a signed update manifest; the node checks the signature, downloads the
 *   package and checks its checksum.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { Command } from "commander";
import { parseJson, type PluginDetail } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { usageError } from "../cli-error.js";

/** An update manifest is a few hundred bytes; anything far larger is not one. */
const MAX_MANIFEST_BYTES = 64 * 1024;

/** The folder as a .tar.gz stream, or the tarball's bytes as they are read. */
async function packageStream(path: string): Promise<ReadableStream<Uint8Array>> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  if (info.isDirectory()) {
    const entries = (await readdir(path)).sort();
    // tar is loaded only to pack a folder: every `kai plugin` command would pay for it otherwise.
    const { create: createTar } = await import("tar");
    // portable: no uid/gid/user names; noMtime: the same folder packs to the same bytes. Links are packed as links,
    // and the node refuses them (a plugin folder holds files and folders only).
    const packed = createTar({ gzip: true, cwd: path, portable: true, noMtime: true }, entries);
    return Readable.toWeb(Readable.from(packed as AsyncIterable<Buffer>)) as ReadableStream<Uint8Array>;
  }
  if (!info.isFile()) throw usageError(`${path} is neither a folder nor a .tar.gz file`);
  return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
}

function printInstalled(out: ReturnType<typeof contextOf>["out"], verb: string, plugin: PluginDetail): void {
  if (out.json) return out.document(plugin);
  out.line(`${plugin.id} ${plugin.version ?? "-"}`);
  out.info(`${verb} ${plugin.id} ${plugin.version ?? ""} (${plugin.state}; ${plugin.trust.level}: ${plugin.trust.reason})`.replace(/ +\(/, " ("));
}

function installCommand(): Command {
  const command = new Command("install")
    .description("install a plugin from a folder or a .tar.gz (plugins:admin)")
    .argument("<path>", "the plugin folder (with its plugin.yaml) or a .tar.gz of it")
    .option("--replace", "replace an installed version (it is kept in the node's history)");
  addGlobalOptions(command);
  return command.action(async (path: string, flags: { replace?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const body = await packageStream(path);
    printInstalled(out, "installed", await client().plugins.install(body, { replace: flags.replace === true }));
  });
}

function removeCommand(): Command {
  const command = new Command("remove")
    .description("remove a plugin installed in the node's plugins folder (kept in its history unless --purge) (plugins:admin)")
    .argument("<id>", "the plugin's id")
    .option("--purge", "delete it and its kept versions for good");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { purge?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const removed = await client().plugins.remove(id, { purge: flags.purge === true });
    if (out.json) return out.document(removed);
    out.info(`removed ${removed.id} ${removed.version ?? ""}${removed.purged ? " (purged)" : "; kai plugin rollback brings it back"}`);
  });
}

function historyCommand(): Command {
  const command = new Command("history").description("a plugin's installed version and its kept versions, newest first (plugins:admin)").argument("<id>", "the plugin's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const history = await client().plugins.history(id);
    if (out.json) return out.document(history);
    out.table(
      ["VERSION", "STATE", "INSTALLED", "LEFT", "WHY"],
      [
        ...(history.current ? [[history.current.version, "installed", history.current.installedAt, "-", "-"]] : []),
        ...history.history.map((entry) => [entry.version, "kept", entry.installedAt ?? "-", entry.archivedAt, entry.reason]),
      ],
      "no versions of this plugin installed",
    );
  });
}

function rollbackCommand(): Command {
  const command = new Command("rollback")
    .description("put the newest kept version of a plugin back in place (the current one is kept) (plugins:admin)")
    .argument("<id>", "the plugin's id")
    .option("--to <version>", "the kept version to go back to (default: the newest kept)");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { to?: string }, self: Command) => {
    const { out, client } = contextOf(self);
    printInstalled(out, "rolled back to", await client().plugins.rollback(id, flags.to === undefined ? {} : { version: flags.to }));
  });
}

/** The update manifest from a file, or from an http(s) URL. */
async function readManifest(source: string): Promise<Record<string, unknown>> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(30_000) }).catch((error: unknown) => {
      throw usageError(`cannot fetch the update manifest from ${source}: ${(error as Error).message}`);
    });
    if (!response.ok) throw usageError(`cannot fetch the update manifest from ${source}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    text = await readFile(source, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw usageError(`cannot read ${source}: ${error.code ?? error.message}`);
    });
  }
  if (text.length > MAX_MANIFEST_BYTES) throw usageError(`${source} is larger than ${MAX_MANIFEST_BYTES} bytes: not an update manifest`);
  const json = parseJson(text);
  if (!json.ok || json.value === null || typeof json.value !== "object" || Array.isArray(json.value)) throw usageError(`${source} does not hold a JSON object (an update manifest)`);
  return json.value as Record<string, unknown>;
}

function updateCommand(): Command {
  const command = new Command("update")
    .description("update a plugin from a signed update manifest: the node checks the signature, downloads, checks the checksum, installs (plugins:admin)")
    .argument("<id>", "the plugin's id")
    .requiredOption("--manifest <file|url>", "the signed update manifest ({plugin, latest, url, checksum, did, signature}), a file or an http(s) URL")
    .option("--force", "install even when the manifest's version is not newer than the installed one");
  addGlobalOptions(command);
  return command.action(async (id: string, flags: { manifest: string; force?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const manifest = await readManifest(flags.manifest);
    printInstalled(out, "updated", await client().plugins.update(id, manifest, { force: flags.force === true }));
  });
}

/** The lifecycle subcommands of `kai plugin`. */
export function pluginLifecycleCommands(): Command[] {
  return [installCommand(), removeCommand(), historyCommand(), rollbackCommand(), updateCommand()];
}
