/**
 * @module manifest-check/check-worker
 * One thread of a parallel manifest check (`parallel-check.ts`): takes a run of the manifest's entries (their byte
 * ranges in the shared file), parses and checks them a slice at a time with the same `planManifest` as the main
 * thread, and answers with each entry's id, credential flag and owner, and the JSON of each registration written
 * one after another into one buffer (handed over, not copied). The objects of a slice are dropped before the next:
 * they die young, so the collector has next to nothing to move.
 *
 * Any problem (a syntax error in a slice, an entry the schemas refuse, an id named twice in a slice) answers
 * `{ ok: false }` and nothing more: the main thread then checks the whole file the ordinary way, which names every
 * problem by its place in the file.
 */
import { parentPort } from "node:worker_threads";
import { DEFAULT_MAX_JSON_DEPTH, parseJson } from "@kai/protocol/manifest";
import { carriesToken } from "./checked-manifest.js";
import { manifestSchemas, planManifest } from "./plan-entries.js";

export interface CheckJob {
  bytes: SharedArrayBuffer;
  starts: Uint32Array;
  ends: Uint32Array;
  /** Entries `[from, to)` are this thread's. */
  from: number;
  to: number;
  fileName: string;
  /** What the services are tagged with (`metadata.appliedFrom`); default: the file's name (`planManifest`). */
  sourceName?: string;
  /** Entries parsed and checked at a time. */
  slice: number;
}

export type CheckAnswer =
  | {
      ok: true;
      ids: string[];
      /** 1 where the entry carries a raw credential. */
      tokens: Uint8Array;
      /** Entry (relative to `from`) and owner, for entries that name an owner. */
      owners: Array<[number, string]>;
      /** Entry `k`'s registration is `encoded[offsets[k], offsets[k + 1])`. */
      encoded: Uint8Array;
      offsets: Uint32Array;
      warnings: string[];
    }
  | { ok: false };

/** `[` + the slice + `]` nests one level less deep than the whole document `{"services":[…]}`. */
const SLICE_MAX_DEPTH = DEFAULT_MAX_JSON_DEPTH - 1;

function check(job: CheckJob): CheckAnswer {
  const bytes = Buffer.from(job.bytes);
  const count = job.to - job.from;
  const ids: string[] = [];
  const tokens = new Uint8Array(count);
  const owners: Array<[number, string]> = [];
  const offsets = new Uint32Array(count + 1);
  const warnings: string[] = [];
  // Registrations come out a little longer than the entries went in (`metadata.appliedFrom`, defaults): sized with
  // room to spare, as growing copies everything written so far into fresh memory. allocUnsafeSlow: never a slice of
  // Node's shared pool, whose memory must not be handed over.
  const input = job.ends[job.to - 1]! - job.starts[job.from]!;
  let encoded = Buffer.allocUnsafeSlow(Math.ceil(input * 1.25) + 64 * 1024);
  let length = 0;
  for (let first = job.from; first < job.to; first += job.slice) {
    const last = Math.min(first + job.slice, job.to) - 1;
    const parsed = parseJson(`[${bytes.toString("utf8", job.starts[first]!, job.ends[last]!)}]`, { maxDepth: SLICE_MAX_DEPTH });
    if (!parsed.ok) return { ok: false };
    let planned;
    try {
      planned = planManifest({ services: parsed.value }, job.fileName, { sourceName: job.sourceName, warn: (message) => warnings.push(message) });
    } catch {
      return { ok: false };
    }
    for (const service of planned) {
      const k = ids.length;
      ids.push(service.id);
      if (carriesToken(service.normalised)) tokens[k] = 1;
      if (service.normalised.owner !== undefined) owners.push([k, service.normalised.owner]);
      const json = JSON.stringify(service.input);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      if (encoded.length - length < json.length * 3) {
        const larger = Buffer.allocUnsafeSlow(Math.max(encoded.length * 2, length + json.length * 3));
        encoded.copy(larger, 0, 0, length);
        encoded = larger;
      }
      length += encoded.write(json, length);
      offsets[k + 1] = length;
    }
  }
  return { ok: true, ids, tokens, owners, encoded: encoded.subarray(0, length), offsets, warnings };
}

// The thread starts while the main thread still reads the file: the schemas are compiled meanwhile.
manifestSchemas();
parentPort!.once("message", (job: CheckJob) => {
  const answer = check(job);
  parentPort!.postMessage(answer, answer.ok ? [answer.encoded.buffer as ArrayBuffer] : []);
});
