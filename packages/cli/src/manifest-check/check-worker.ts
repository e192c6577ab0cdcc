/**
 * @module manifest-check/check-worker
 * One thread of a parallel manifest check (`parallel-check.ts`). It is given the file's bytes once (shared memory),
 * then runs of entries (their byte ranges) as the main thread's scan finds them; each run it parses and checks a
 * slice at a time with the same `planManifest` as the main thread, and answers with each entry's id, credential flag
 * and owner, and the JSON of each registration written one after another into one buffer (handed over, not copied).
 * The objects of a slice are dropped before the next: they die young, so the collector has next to nothing to move.
 *
 * Any problem (a syntax error in a slice, an entry the schemas refuse, an id named twice in a run) answers
 * `{ ok: false }` for that run and nothing more: the main thread then checks the whole file the ordinary way, which
 * names every problem by its place in the file.
 */
import { parentPort } from "node:worker_threads";
import { DEFAULT_MAX_JSON_DEPTH, parseJson } from "@kai/protocol/manifest";
import { carriesToken } from "./checked-manifest.js";
import { manifestSchemas, planManifest } from "./plan-entries.js";

/** The file, sent once before any run. */
export interface FileMessage {
  type: "file";
  bytes: SharedArrayBuffer;
  fileName: string;
  /** What the services are tagged with (`metadata.appliedFrom`); default: the file's name (`planManifest`). */
  sourceName?: string;
  /** Entries parsed and checked at a time. */
  slice: number;
}

/** One run of entries: entry `k` of the run is `bytes[starts[k], ends[k])`. */
export interface RunMessage {
  type: "run";
  /** The run's number (from 0, in the file's order), echoed in its answer. */
  run: number;
  starts: Uint32Array;
  ends: Uint32Array;
}

export type CheckAnswer =
  | {
      ok: true;
      ids: string[];
      /** 1 where the entry carries a raw credential. */
      tokens: Uint8Array;
      /** Entry (relative to the run) and owner, for entries that name an owner. */
      owners: Array<[number, string]>;
      /** Entry `k`'s registration is `encoded[offsets[k], offsets[k + 1])`. */
      encoded: Uint8Array;
      offsets: Uint32Array;
      warnings: string[];
    }
  | { ok: false };

export interface RunAnswer {
  run: number;
  answer: CheckAnswer;
}

/** `[` + the slice + `]` nests one level less deep than the whole document `{"services":[…]}`. */
const SLICE_MAX_DEPTH = DEFAULT_MAX_JSON_DEPTH - 1;

function check(file: FileMessage, bytes: Buffer, starts: Uint32Array, ends: Uint32Array): CheckAnswer {
  const count = starts.length;
  const ids: string[] = [];
  const tokens = new Uint8Array(count);
  const owners: Array<[number, string]> = [];
  const offsets = new Uint32Array(count + 1);
  const warnings: string[] = [];
  // Registrations come out a little longer than the entries went in (`metadata.appliedFrom`, defaults): sized with
  // room to spare, as growing copies everything written so far into fresh memory. allocUnsafeSlow: never a slice of
  // Node's shared pool, whose memory must not be handed over.
  const input = ends[count - 1]! - starts[0]!;
  let encoded = Buffer.allocUnsafeSlow(Math.ceil(input * 1.25) + 64 * 1024);
  let length = 0;
  for (let first = 0; first < count; first += file.slice) {
    const last = Math.min(first + file.slice, count) - 1;
    const parsed = parseJson(`[${bytes.toString("utf8", starts[first]!, ends[last]!)}]`, { maxDepth: SLICE_MAX_DEPTH });
    if (!parsed.ok) return { ok: false };
    let planned;
    try {
      planned = planManifest({ services: parsed.value }, file.fileName, { sourceName: file.sourceName, warn: (message) => warnings.push(message) });
    } catch {
      return { ok: false };
    }
    for (const service of planned) {
      const k = ids.length;
      ids.push(service.id);
      if (carriesToken(service.normalised)) tokens[k] = 1;
      if (service.normalised.owner !== undefined) owners.push([k, service.normalised.owner]);
      // The normalised registration (the schema's defaults written out): the node's schema makes the same of it,
      // and a later comparison with the registry's record needs only to parse it, not to check it again.
      const json = JSON.stringify(service.normalised);
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

// The thread starts before the main thread reads the file: the schemas are compiled meanwhile.
manifestSchemas();
let file: { message: FileMessage; bytes: Buffer } | undefined;
parentPort!.on("message", (message: FileMessage | RunMessage) => {
  if (message.type === "file") {
    file = { message, bytes: Buffer.from(message.bytes) };
    return;
  }
  const answer: CheckAnswer = file ? check(file.message, file.bytes, message.starts, message.ends) : { ok: false };
  const reply: RunAnswer = { run: message.run, answer };
  parentPort!.postMessage(reply, answer.ok ? [answer.encoded.buffer as ArrayBuffer] : []);
});
