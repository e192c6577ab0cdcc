/**
 * @module apply-manifest
 * `kai services apply`: brings the registry in line with a manifest (seed 001's `services:` list).
 * Each entry is converted with the protocol's `manifestEntryToRegistration`, tagged with
 * `metadata.appliedFrom = <file name>` (or `--name`) so that a later `--prune` knows which services came from this
 * file, and registered only when it differs from what the registry holds (so a second apply is a no-op).
 * A `token_env: NAME` whose variable is set is sent as `auth.token`: the server moves it into its vault
 * and keeps only `credentialRef: vault:services/<id>/credential`. Such entries are always re-sent, because
 * whether the vaulted value is still current cannot be seen from the registry.
 *
 * At scale (issue 19): what the registry holds is read in one listing (a GET per entry for short manifests), and
 * the changed entries go through `POST /api/services/bulk` in batches of up to 1000, each all or nothing, two on
 * their way at once; `--prune` removes the stale ones through `POST /api/services/bulk-delete`, 1000 ids a request. A refused batch stops the apply: no batch is sent after it, the batches before it stay applied,
 * it is not, and the one sent after it before the refusal was known stands or falls alone. The error says which
 * entries were applied and which not.
 *
 * The manifest arrives checked (`manifest-check/`: `checkManifestFile` reads and checks the file, on several threads
 * when it is large): each entry's id, credential flag and owner, its registration when the registry holds a record
 * to compare it with, and each batch's request body ready to send.
 */
import { isDeepStrictEqual } from "node:util";
import { BULK_DEREGISTRATION_MAX, BULK_REGISTRATION_MAX, type FieldError, type ServiceRecord, type ServiceRegistration } from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { CliError } from "./cli-error.js";
import { exitCodeForApiCode } from "./exit-codes.js";
import { carriesToken, type CheckedEntry, type CheckedManifest } from "./manifest-check/checked-manifest.js";

export type ApplyAction = "created" | "updated" | "unchanged" | "pruned";
export interface ApplyResult {
  id: string;
  action: ApplyAction;
}

/** Fields a registration sets; a record that agrees on all of them needs no re-registration. */
const COMPARED_FIELDS = [
  "name", "description", "type", "provider", "capabilities", "tags", "url", "protocol", "auth", "endpoints",
  "healthCheck", "rateLimit", "version", "visibility", "trustLevel", "metadata", "ttl", "isLocal", "status",
] as const satisfies readonly (keyof ServiceRegistration & keyof ServiceRecord)[];

/** Fields the server fills in when a registration leaves them out (`protocol` from the URL's scheme). */
const DERIVED_FIELDS = new Set<string>(["protocol"]);

/**
 * A manifest states what a service is, not how it is doing: a status its heartbeats, its health check or a hand set
 * (`degraded`, `offline`, `maintenance`) is the registry's to keep. An entry that names no status (the schema's
 * default, `active`) therefore agrees with any of them; only a status the entry asks for other than `active` is
 * compared. Before, every re-apply "updated" a degraded or offline service back to `active`, hiding its failure.
 */
function statusAgrees(want: ServiceRegistration["status"], have: ServiceRecord["status"]): boolean {
  return want === have || want === "active";
}

export function isUnchanged(planned: ServiceRegistration, record: ServiceRecord): boolean {
  if (carriesToken(planned)) return false;
  if (planned.owner !== undefined && planned.owner !== record.owner) return false;
  return COMPARED_FIELDS.every((field) => {
    if (field === "status") return statusAgrees(planned.status, record.status);
    const want: unknown = planned[field];
    const have: unknown = record[field];
    if (want === undefined && DERIVED_FIELDS.has(field)) return true;
    return (want === undefined && have === undefined) || isDeepStrictEqual(want, have);
  });
}

async function getOrUndefined(client: KaiClient, id: string): Promise<ServiceRecord | undefined> {
  try {
    return await client.services.get(id);
  } catch (error) {
    if (error instanceof KaiApiError && error.code === "not_found") return undefined;
    throw error;
  }
}

/**
 * Bulk requests on their way at once. One at a time, the node waited for the CLI's next request after each answer
 * and the CLI for the node's answer (a 100,000-entry apply ran at ~12,000/s against ~16,000/s four at a time). Two
 * keep the node as busy: on SQLite one batch commits in the writer thread while the next is planned, and a third or
 * fourth only waits there, its objects alive all the while, so that the collector copied more: four at a time gave
 * 10,500/s end to end against 11,300/s with two, and 95 against 87 µs of node CPU a service (three alternated pairs;
 * the bulk endpoint alone 14,600/s against 16,600/s in four). On PostgreSQL two and four were alike (docs/benchmarks.md).
 */
export const BATCHES_IN_FLIGHT = 2;

/** Up to this many entries, the records are read one GET each; above, in one listing of what the caller sees. */
const READ_EACH_UP_TO = 50;

/** What the registry holds for one of the manifest's ids, as far as applying needs it. */
interface Stored {
  owner: string;
  /** The stored record already matches the entry: nothing to send. */
  unchanged: boolean;
}

/**
 * What the registry holds for the manifest's ids (those the caller may see: a GET and the listing agree), each record
 * compared with its entry as it arrives and then dropped. One listing, 1000 records a page, instead of a request per
 * entry: 100,000 GETs would take longer than the writes. Why compared at once: keeping 100,000 whole records until
 * the comparison took ~250 MB of heap, and the collector's work on it was a quarter of a re-apply's time.
 */
async function readStored(client: KaiClient, manifest: CheckedManifest): Promise<Map<string, Stored>> {
  const stored = new Map<string, Stored>();
  const compare = (index: number, record: ServiceRecord) => {
    // `isUnchanged` also says no for a credential; asked first here, it spares parsing that entry's registration again.
    const unchanged = !manifest.entries[index]!.carriesToken && isUnchanged(manifest.normalised(index), record);
    stored.set(record.id, { owner: record.owner, unchanged });
  };
  if (manifest.entries.length <= READ_EACH_UP_TO) {
    for (const [index, service] of manifest.entries.entries()) {
      const record = await getOrUndefined(client, service.id);
      if (record) compare(index, record);
    }
    return stored;
  }
  const wanted = new Map(manifest.entries.map((service, index) => [service.id, index]));
  for await (const record of client.services.listAll({ location: "local", pageSize: 1000 })) {
    const index = wanted.get(record.id);
    if (index !== undefined) compare(index, record);
  }
  return stored;
}

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
  /**
   * Called with the services of each window of the manifest once its batch is done (in the manifest's order), so
   * results show on long manifests and survive a later failure; one call per batch, not per service, so that a
   * caller printing them writes once per batch.
   */
  onResults?(results: ApplyResult[]): void;
  /** Called after each batch: how many of the manifest's entries are done (applied or found unchanged) of how many. */
  onProgress?(done: number, total: number): void;
  /** Changed entries per bulk request, 1..1000 (default 1000). */
  batchSize?: number;
  /** Bulk requests on their way at once (default `BATCHES_IN_FLIGHT`). */
  batchesInFlight?: number;
}

/** One entry of the manifest on its way: where it is in the file and whether the registry holds it already. */
interface Pending {
  index: number;
  service: CheckedEntry;
  exists: boolean;
  unchanged: boolean;
}

/** `sourceName`: what the manifest's services are tagged with (`metadata.appliedFrom`), which `--prune` matches. */
export async function applyManifest(client: KaiClient, sourceName: string, manifest: CheckedManifest, options: ApplyOptions): Promise<ApplyResult[]> {
  const planned = manifest.entries;
  const results: ApplyResult[] = [];
  const report = (settled: ApplyResult[]) => {
    for (const result of settled) results.push(result);
    options.onResults?.(settled);
  };
  const batchSize = Math.max(1, Math.min(BULK_REGISTRATION_MAX, Math.trunc(options.batchSize ?? BULK_REGISTRATION_MAX)));
  const batchesInFlight = Math.max(1, Math.trunc(options.batchesInFlight ?? BATCHES_IN_FLIGHT));
  const owners = new Set<string>();
  const stored = await readStored(client, manifest);
  const tally = { created: 0, updated: 0, unchanged: 0 };
  let done = 0;
  // A window is a run of the manifest holding one batch of changed entries (and the unchanged ones among them). Up
  // to `batchesInFlight` windows' batches are on their way at once; windows are settled (reported, counted) in the
  // manifest's order, so results and progress read as if the batches had gone one by one.
  const windows: Window[] = [];
  let window: Pending[] = [];
  let changedInWindow = 0;
  let batches = 0;
  let refused = false;
  const send = () => {
    const changed = window.filter((entry) => !entry.unchanged);
    const next: Window = { entries: window, changed };
    if (changed.length > 0 && !options.dryRun) {
      next.batch = ++batches;
      next.answer = client.services.registerManyEncoded(manifest.body(changed.map((entry) => entry.index))).then(
        (answer) => answer.results,
        (error: unknown) => {
          // No batch is sent after one is refused; those already on their way are waited for and reported.
          refused = true;
          return { error };
        },
      );
    }
    windows.push(next);
    window = [];
    changedInWindow = 0;
  };
  const settleFirst = async () => {
    const first = windows.shift()!;
    const outcome = await first.answer;
    if (outcome && !Array.isArray(outcome)) {
      const later = await Promise.all(windows.map(async (other) => ({ window: other, outcome: await other.answer })));
      throw refusal(outcome.error, first, later, { ...tally, done, total: planned.length }, report);
    }
    settleWindow(first, outcome, tally, report);
    done += first.entries.length;
    options.onProgress?.(done, planned.length);
  };
  for (const [index, service] of planned.entries()) {
    const existing = stored.get(service.id);
    if (existing) owners.add(existing.owner);
    if (service.owner !== undefined) owners.add(service.owner);
    const unchanged = existing?.unchanged ?? false;
    window.push({ index, service, exists: existing !== undefined, unchanged });
    if (unchanged || ++changedInWindow < batchSize) continue;
    send();
    while (windows.length >= batchesInFlight || (refused && windows.length > 0)) await settleFirst();
  }
  if (window.length > 0) send();
  while (windows.length > 0) await settleFirst();
  if (options.prune) {
    // Only the caller's own services (and those of owners this manifest wrote) are candidates: an admin
    // applying `services.yaml` must not delete another team's services applied from their own `services.yaml`.
    owners.add((await client.status()).caller.owner);
    const keep = new Set(planned.map((service) => service.id));
    const stale: string[] = [];
    for await (const record of client.services.listAll({})) {
      if (record.metadata.appliedFrom === sourceName && !keep.has(record.id) && owners.has(record.owner)) stale.push(record.id);
    }
    // Up to 1000 ids a request through `POST /api/services/bulk-delete`, not a DELETE each: a request is one count in
    // the token's write bucket (600 a minute by default), which stopped a prune of thousands half-way, and one storage
    // transaction. A refused batch stops the prune; the batches before it stay pruned and are reported.
    for (let from = 0; from < stale.length; from += BULK_DEREGISTRATION_MAX) {
      const ids = stale.slice(from, from + BULK_DEREGISTRATION_MAX);
      if (options.dryRun) {
        report(ids.map((id) => ({ id, action: "pruned" as const })));
        continue;
      }
      const answer = await client.services.removeMany(ids);
      // An id already gone (`absent`: removed by someone else since the listing) was not pruned by this apply; it no
      // longer fails the apply either, as its single DELETE's 404 did.
      report(answer.results.filter((result) => result.action === "removed").map(({ id }) => ({ id, action: "pruned" as const })));
    }
  }
  return results;
}

/** One window of the manifest: its entries, the changed ones among them, and its batch's answer once sent. */
interface Window {
  entries: Pending[];
  changed: Pending[];
  /** The batch's number (from 1), when one was sent. */
  batch?: number;
  answer?: Promise<BulkResult[] | { error: unknown }>;
}
type BulkResult = Awaited<ReturnType<KaiClient["services"]["registerMany"]>>["results"][number];

/** Reports a window's entries in the manifest's order, with what its batch did to each. */
function settleWindow(window: Window, answer: BulkResult[] | undefined, tally: Record<Exclude<ApplyAction, "pruned">, number>, report: (results: ApplyResult[]) => void): void {
  const actions = new Map<number, ApplyAction>();
  answer?.forEach((result, k) => {
    // A token entry the registry found unchanged still had its vaulted value written again: it counts as updated.
    const entry = window.changed[k]!;
    actions.set(entry.index, result.action === "unchanged" && entry.service.carriesToken ? "updated" : result.action);
  });
  const settled: ApplyResult[] = [];
  for (const entry of window.entries) {
    const action = entry.unchanged ? "unchanged" : (actions.get(entry.index) ?? (entry.exists ? "updated" : "created"));
    if (action !== "pruned") tally[action]++;
    settled.push({ id: entry.service.id, action });
  }
  report(settled);
}

/** What was applied before a refused batch, for its message. */
interface Applied {
  created: number;
  updated: number;
  unchanged: number;
  done: number;
  total: number;
}

/** "1-1000", or "7" for one entry (entries numbered from 1). */
const span = (from: number, to: number) => (from === to ? String(from) : `${from}-${to}`);

/**
 * The error of a refused batch. It says what was applied and what not, and points at the manifest's entries: the
 * server names `services.<i>` of the batch, which is the manifest's `services.<index>` only when nothing was
 * skipped. Batches sent after it, before the refusal was known, each stand or fall alone: those that were applied
 * are reported (their entries' results too), the others named.
 */
function refusal(
  error: unknown,
  refusedWindow: Window,
  later: { window: Window; outcome: BulkResult[] | { error: unknown } | undefined }[],
  before: Applied,
  report: (results: ApplyResult[]) => void,
): unknown {
  if (!(error instanceof KaiApiError)) return error;
  const batch = refusedWindow.changed;
  const toFile = (text: string) => text.replace(/\bservices\.(\d+)/g, (whole, k: string) => {
    const entry = batch[Number(k)];
    return entry ? `services.${entry.index}` : whole;
  });
  const first = batch[0]!.index + 1;
  const last = batch[batch.length - 1]!.index + 1;
  const appliedBefore = (refusedWindow.batch ?? 1) - 1;
  let message =
    `batch ${refusedWindow.batch} (manifest entries ${first}-${last}, ${batch.length} changed) was refused, so none of it was applied: ${toFile(error.message)}. ` +
    `Applied before it: ${appliedBefore} batch(es) covering ${before.done === 0 ? "no entries" : `entries 1-${before.done}`} of ${before.total} (${before.created} created, ${before.updated} updated, ${before.unchanged} unchanged)`;
  // Entries from the refused window on: applied ones are those of later windows whose batch went through.
  const laterTally = { created: 0, updated: 0, unchanged: 0 };
  const appliedLater: string[] = [];
  const notApplied: [number, number][] = [];
  const notApplies = (from: number, to: number) => {
    const previous = notApplied[notApplied.length - 1];
    if (previous && previous[1] === from - 1) previous[1] = to;
    else notApplied.push([from, to]);
  };
  // A window whose batch was not applied: its changed entries were not, but its unchanged ones (a window gathers the
  // unchanged entries before its batch's changed ones) already agree with the manifest and are reported as such.
  let unchangedBeside = 0;
  const notAppliedWindow = (window: Window) => {
    const unchanged: ApplyResult[] = [];
    for (const entry of window.entries) {
      if (entry.unchanged) unchanged.push({ id: entry.service.id, action: "unchanged" });
      else notApplies(entry.index + 1, entry.index + 1);
    }
    unchangedBeside += unchanged.length;
    if (unchanged.length > 0) report(unchanged);
  };
  notAppliedWindow(refusedWindow);
  let position = before.done + refusedWindow.entries.length;
  for (const { window, outcome } of later) {
    const from = position + 1;
    position += window.entries.length;
    if (outcome !== undefined && !Array.isArray(outcome)) notAppliedWindow(window);
    else {
      // A window with nothing to send (all unchanged) is in line with the manifest as it is.
      settleWindow(window, outcome, laterTally, report);
      if (window.batch !== undefined) appliedLater.push(`batch ${window.batch} (entries ${span(from, position)})`);
    }
  }
  if (position < before.total) notApplies(position + 1, before.total);
  if (unchangedBeside > 0) message += `; ${unchangedBeside} entr${unchangedBeside === 1 ? "y" : "ies"} among the batches not applied already matched the registry (unchanged)`;
  if (appliedLater.length > 0) {
    message +=
      `; sent before the refusal was known and applied after it: ${appliedLater.join(", ")} ` +
      `(${laterTally.created} created, ${laterTally.updated} updated, ${laterTally.unchanged} unchanged)`;
  }
  message += `; entries ${notApplied.map(([from, to]) => span(from, to)).join(", ")} were not applied (entries are numbered from 1; paths such as services.<i> from 0).`;
  const details: FieldError[] | undefined = error.details?.map((detail) => ({ ...detail, path: toFile(detail.path.replace(/^body\./, "")) }));
  return new CliError(message, error.code, exitCodeForApiCode(error.code), details);
}
