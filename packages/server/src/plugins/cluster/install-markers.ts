/**
 * @module plugins/cluster/install-markers
 * Which row of the shared install store (storage/contracts/plugin-install-store.ts) this instance's plugins folder
 * holds, per plugin id: `<dataDir>/plugins/.cluster/<id>.json` (`{ revision, sha256, action }`), written inside the
 * installer's lock for that id once a change is in place (made here, or followed from another instance). An instance
 * follows a row only when its marker differs, so a folder edited by hand is never fought over, and instances that
 * share one data folder follow each row once. Discovery passes over hidden folders: nothing here is a plugin.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { parseJson } from "@kai/protocol";

const MarkerSchema = z.object({ revision: z.int().min(0), sha256: z.string().nullable(), action: z.string() });
export type InstallMarker = z.infer<typeof MarkerSchema>;

const MARKERS = ".cluster";
const MAX_MARKER_BYTES = 4096;

export class InstallMarkers {
  private readonly folder: string;

  constructor(pluginsRoot: string) {
    this.folder = join(pluginsRoot, MARKERS);
  }

  /** The row this folder holds for `id`; undefined when none was applied (or the marker is unreadable: follow again). */
  async read(id: string): Promise<InstallMarker | undefined> {
    let text: string;
    try {
      text = await readFile(this.fileOf(id), "utf8");
    } catch {
      return undefined;
    }
    if (text.length > MAX_MARKER_BYTES) return undefined;
    const json = parseJson(text);
    const parsed = json.ok ? MarkerSchema.safeParse(json.value) : undefined;
    return parsed?.success ? parsed.data : undefined;
  }

  /** Records that `id`'s folder holds this row (written aside, then renamed: never half a marker). */
  async write(id: string, marker: InstallMarker): Promise<void> {
    await mkdir(this.folder, { recursive: true, mode: 0o755 });
    const file = this.fileOf(id);
    const aside = `${file}.${process.pid}.tmp`;
    await writeFile(aside, `${JSON.stringify(marker)}\n`);
    await rename(aside, file);
  }

  /** True when the marker says this folder holds exactly `row`. */
  static matches(marker: InstallMarker | undefined, row: { revision: number; sha256: string | null; action: string }): boolean {
    return marker !== undefined && marker.revision === row.revision && marker.sha256 === row.sha256 && marker.action === row.action;
  }

  private fileOf(id: string): string {
    // Plugin ids are checked by the manifest's schema (letters, digits, `.`, `_`, `-`); still never a path.
    return join(this.folder, `${encodeURIComponent(id)}.json`);
  }
}
