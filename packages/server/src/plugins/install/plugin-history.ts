/**
 * @module plugins/install/plugin-history
 * The versions of a plugin the node keeps after a replace, update, rollback or remove, under
 * `<dataDir>/plugins/.history/<id>/`: each version's folder as it was (`<version>-<time>/`, moved there by rename, so
 * a signed folder stays exactly as signed) and beside it a record (`<version>-<time>.json`: version, when it was
 * installed, when and why it left). `current.json` records when the live version was installed. Discovery passes
 * over hidden folders, so nothing here is ever listed as a plugin.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  parseJson,
  PluginHistoryEntrySchema,
  PluginInstallRecordSchema,
  type PluginHistoryEntry,
  type PluginInstallRecord,
} from "@kai/protocol";

const CURRENT = "current.json";
const RECORD_BYTES = 64 * 1024;

export class PluginHistory {
  constructor(private readonly root: string) {}

  folderOf(id: string): string {
    return join(this.root, id);
  }

  /** The live version's install record, when the installer placed it. */
  async current(id: string): Promise<PluginInstallRecord | undefined> {
    return readRecord(join(this.folderOf(id), CURRENT), PluginInstallRecordSchema);
  }

  async setCurrent(id: string, record: PluginInstallRecord | undefined): Promise<void> {
    const file = join(this.folderOf(id), CURRENT);
    if (!record) return rm(file, { force: true });
    await mkdir(this.folderOf(id), { recursive: true });
    await writeFile(file, `${JSON.stringify(record)}\n`);
  }

  /** Every kept version, newest first. A record that cannot be read is listed from its folder's name. */
  async list(id: string): Promise<PluginHistoryEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.folderOf(id), { withFileTypes: true }).then((entries) => entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name));
    } catch {
      return [];
    }
    const entries: PluginHistoryEntry[] = [];
    for (const name of names) {
      const record = await readRecord(join(this.folderOf(id), `${name}.json`), PluginHistoryEntrySchema.omit({ name: true }));
      entries.push(record ? { name, ...record } : { name, version: name.replace(/-\d{8}T\d{9}Z(-\d+)?$/, ""), archivedAt: new Date(0).toISOString(), reason: "replaced" });
    }
    return entries.sort((a, b) => (a.archivedAt === b.archivedAt ? (a.name < b.name ? 1 : -1) : a.archivedAt < b.archivedAt ? 1 : -1));
  }

  /** Moves `folder` into the history (one rename on the same file system); answers the entry. */
  async archive(id: string, folder: string, entry: Omit<PluginHistoryEntry, "name">): Promise<PluginHistoryEntry> {
    await mkdir(this.folderOf(id), { recursive: true, mode: 0o755 });
    const stamp = entry.archivedAt.replace(/[-:.]/g, "");
    const base = `${entry.version}-${stamp}`;
    let name = base;
    for (let n = 1; ; n++) {
      try {
        await mkdir(join(this.folderOf(id), name));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || n > 1000) throw error;
        name = `${base}-${n}`;
      }
    }
    // The empty folder made above claims the name; rename replaces an empty folder.
    await rename(folder, join(this.folderOf(id), name));
    await writeFile(join(this.folderOf(id), `${name}.json`), `${JSON.stringify(entry)}\n`);
    return { name, ...entry };
  }

  /** Moves a kept version to `to` and forgets its record. */
  async restore(id: string, name: string, to: string): Promise<void> {
    await rename(join(this.folderOf(id), name), to);
    await rm(join(this.folderOf(id), `${name}.json`), { force: true });
  }

  /** Deletes the oldest versions beyond `keep`. */
  async prune(id: string, keep: number): Promise<void> {
    const entries = await this.list(id);
    for (const entry of entries.slice(keep)) {
      await rm(join(this.folderOf(id), entry.name), { recursive: true, force: true });
      await rm(join(this.folderOf(id), `${entry.name}.json`), { force: true });
    }
  }
}

async function readRecord<T>(file: string, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  if (text.length > RECORD_BYTES) return undefined;
  const json = parseJson(text);
  if (!json.ok) return undefined;
  const parsed = schema.safeParse(json.value);
  return parsed.success ? parsed.data : undefined;
}
