/**
 * @module memory/index-snapshots
 * The saved HNSW graphs of the embedded memory index (docs/data/memory.md "Restarts"): one usearch graph file per
 * partition under `<dataDir>/memory-index/`, beside a JSON sidecar (MemoryIndexSnapshotSchema) saying what the graph
 * covers. The sidecar is the commit point: the graph is written under a fresh name first, then the sidecar naming it
 * replaces the old one by rename, so a reader sees the old pair or the new one, never half of each (also when two
 * instances share the folder). A graph is handed back only when everything the sidecar records matches what the
 * caller expects (the rows' fingerprint, the settings, the usearch build) and the graph file's bytes hash to what the
 * sidecar says; otherwise the caller is told why and rebuilds. Only the graph is saved: vectors come from the rows.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { MemoryIndexSnapshotSchema, parseJson, type MemoryIndexSnapshot } from "@kai/protocol";
import { Index as UsearchIndex, MetricKind, ScalarKind } from "usearch";

/** How a partition's graph is built: a saved graph built otherwise is not used. */
export interface GraphSettings {
  dimensions: number;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

/** What a saved graph must cover to be used: the partition's vectors as read from the rows. */
export interface GraphCoverage {
  count: number;
  digest: string;
}

/** A graph as saved: its label of every id, and the next label to give. */
export interface SavedGraph {
  graph: UsearchIndex;
  ids: string[];
  labels: number[];
  nextLabel: number;
}

export type LoadOutcome = ({ ok: true } & SavedGraph) | { ok: false; reason: string; found: boolean };

/** What `save` writes: the graph (saved synchronously into a temporary file, so it matches the other fields) and what it covers. */
export interface GraphToSave extends GraphCoverage {
  graph: UsearchIndex;
  ids: string[];
  labels: number[];
  nextLabel: number;
}

/** Temporary files older than this are left-overs of a save that crashed (a younger one may be another instance's save). */
const STALE_TEMP_MS = 60 * 60 * 1000;

let usearchBuild: string | undefined;

/** SHA-256 of usearch's package.json: another version (another graph file format, perhaps) gives another value. */
function usearchBuildHash(): string {
  if (usearchBuild === undefined) {
    // usearch's exports map hides package.json; its entry point is <package>/javascript/dist/cjs/usearch.js.
    const entry = createRequire(import.meta.url).resolve("usearch");
    usearchBuild = createHash("sha256").update(readFileSync(join(dirname(entry), "..", "..", "..", "package.json"))).digest("hex");
  }
  return usearchBuild;
}

/** A new empty graph with these settings (cosine over f32, one vector per label). */
export function newGraph(settings: GraphSettings): UsearchIndex {
  return new UsearchIndex({
    dimensions: settings.dimensions,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F32,
    connectivity: settings.connectivity,
    expansion_add: settings.expansionAdd,
    expansion_search: settings.expansionSearch,
    multi: false,
  });
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class IndexSnapshots {
  constructor(private readonly dir: string) {}

  /** The file stem of a partition: its key hashed (keys hold owner names and line breaks). */
  private stemOf(partition: string): string {
    return createHash("sha256").update(partition, "utf8").digest("hex");
  }

  private sidecarPath(partition: string): string {
    return join(this.dir, `${this.stemOf(partition)}.json`);
  }

  private async readSidecar(partition: string): Promise<MemoryIndexSnapshot | { missing: true } | { unreadable: string }> {
    let text: string;
    try {
      text = await readFile(this.sidecarPath(partition), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { missing: true };
      return { unreadable: (error as NodeJS.ErrnoException).code ?? "read failed" };
    }
    const json = parseJson(text);
    if (!json.ok) return { unreadable: `not JSON (${json.error})` };
    const parsed = MemoryIndexSnapshotSchema.safeParse(json.value);
    if (!parsed.success) return { unreadable: "not a memory index sidecar" };
    return parsed.data;
  }

  /** The saved graph of `partition` when it covers exactly `coverage` and was built with `settings`; else why not. */
  async load(partition: string, settings: GraphSettings, coverage: GraphCoverage): Promise<LoadOutcome> {
    const sidecar = await this.readSidecar(partition);
    if ("missing" in sidecar) return { ok: false, reason: "no saved graph", found: false };
    const fail = (reason: string): LoadOutcome => ({ ok: false, reason, found: true });
    if ("unreadable" in sidecar) return fail(`the sidecar is unreadable: ${sidecar.unreadable}`);
    if (sidecar.partition !== partition) return fail("the sidecar is another partition's");
    if (sidecar.usearch !== usearchBuildHash()) return fail("saved by another usearch version");
    if (sidecar.metric !== MetricKind.Cos || sidecar.quantization !== ScalarKind.F32) return fail("saved with another metric or quantization");
    if (sidecar.dimensions !== settings.dimensions) return fail(`saved with ${sidecar.dimensions} dimensions, the rows have ${settings.dimensions}`);
    if (sidecar.connectivity !== settings.connectivity || sidecar.expansionAdd !== settings.expansionAdd) return fail("saved with other HNSW settings");
    if (sidecar.count !== coverage.count || sidecar.digest !== coverage.digest) {
      return fail(`the rows changed since it was saved (it covers ${sidecar.count} vectors, the rows have ${coverage.count}${sidecar.count === coverage.count ? ", other ones" : ""})`);
    }
    if (sidecar.ids.length !== sidecar.count || sidecar.labels.length !== sidecar.count || sidecar.labels.some((label) => label >= sidecar.nextLabel)) {
      return fail("the sidecar's label map does not match its count");
    }
    const path = join(this.dir, sidecar.graphFile);
    try {
      const size = (await stat(path)).size;
      if (size !== sidecar.graphBytes) return fail(`the graph file has ${size} bytes, the sidecar says ${sidecar.graphBytes}`);
      if ((await sha256OfFile(path)) !== sidecar.graphSha256) return fail("the graph file is damaged (its SHA-256 differs)");
    } catch (error) {
      return fail(`the graph file is unreadable (${(error as NodeJS.ErrnoException).code ?? "read failed"})`);
    }
    const graph = newGraph(settings);
    try {
      graph.load(path);
    } catch (error) {
      return fail(`usearch could not load the graph (${error instanceof Error ? error.message : String(error)})`);
    }
    // The labels the sidecar names must be the graph's: a label missing from the graph would lose its memory's hits.
    const labels = BigUint64Array.from(sidecar.labels, (label) => BigInt(label));
    if (graph.size() !== sidecar.count || (sidecar.count > 0 && !(graph.contains(labels) as boolean[]).every(Boolean))) return fail("the graph does not hold the labels its sidecar names");
    return { ok: true, graph, ids: sidecar.ids, labels: sidecar.labels, nextLabel: sidecar.nextLabel };
  }

  /** Makes the folder (before `save`, which must not wait before writing the graph); only the node's user reads it (vectors, owners). */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Saves `partition`'s graph. The graph file is written first and synchronously, so it matches `what` exactly (the
   * caller captured both in the same turn of the event loop); hashing it and committing the sidecar follow.
   */
  async save(partition: string, settings: GraphSettings, what: GraphToSave): Promise<void> {
    const stem = this.stemOf(partition);
    const graphFile = `${stem}.${randomBytes(8).toString("hex")}.usearch`;
    const graphPath = join(this.dir, graphFile);
    const temp = `${graphPath}.tmp`;
    what.graph.save(temp);
    const snapshot = {
      partition, count: what.count, digest: what.digest, ids: what.ids, labels: what.labels, nextLabel: what.nextLabel,
    };
    try {
      const [graphBytes, graphSha256] = [(await stat(temp)).size, await sha256OfFile(temp)];
      await rename(temp, graphPath);
      const previous = await this.readSidecar(partition);
      const sidecar: MemoryIndexSnapshot = {
        format: 1, usearch: usearchBuildHash(), metric: MetricKind.Cos, quantization: ScalarKind.F32,
        dimensions: settings.dimensions, connectivity: settings.connectivity, expansionAdd: settings.expansionAdd,
        graphFile, graphBytes, graphSha256, ...snapshot,
      };
      const sidecarTemp = `${this.sidecarPath(partition)}.${randomBytes(8).toString("hex")}.tmp`;
      await writeFile(sidecarTemp, JSON.stringify(sidecar), { mode: 0o600 });
      await rename(sidecarTemp, this.sidecarPath(partition));
      if ("graphFile" in previous && previous.graphFile !== graphFile) await rm(join(this.dir, previous.graphFile), { force: true });
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Removes `partition`'s saved graph (the partition is empty now, or holds no graph). */
  async remove(partition: string): Promise<void> {
    const previous = await this.readSidecar(partition);
    await rm(this.sidecarPath(partition), { force: true });
    if ("graphFile" in previous) await rm(join(this.dir, previous.graphFile), { force: true });
  }

  /**
   * Removes what no kept partition uses: sidecars of other partitions (gone while the node was down, or now below
   * the graph size), graph files no sidecar names, and old temporary files.
   */
  async prune(keep: ReadonlySet<string>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const keptStems = new Set([...keep].map((partition) => this.stemOf(partition)));
    const named = new Set<string>();
    let removed = 0;
    for (const name of names) {
      const match = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!match) continue;
      if (keptStems.has(match[1]!)) {
        const json = parseJson(await readFile(join(this.dir, name), "utf8").catch(() => ""));
        const parsed = json.ok ? MemoryIndexSnapshotSchema.safeParse(json.value) : null;
        if (parsed?.success) named.add(parsed.data.graphFile);
        continue;
      }
      await rm(join(this.dir, name), { force: true });
      removed++;
    }
    const now = Date.now();
    for (const name of names) {
      const isGraph = /^[0-9a-f]{64}\.[0-9a-f]{16}\.usearch$/.test(name);
      const isTemp = name.endsWith(".tmp");
      if ((!isGraph && !isTemp) || named.has(name)) continue;
      const path = join(this.dir, name);
      const old = now - ((await stat(path).catch(() => null))?.mtimeMs ?? now) >= STALE_TEMP_MS;
      // A temporary file, or a kept partition's graph no sidecar names yet, may be another instance's save in progress.
      if (!old && (isTemp || keptStems.has(name.slice(0, 64)))) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }
}
