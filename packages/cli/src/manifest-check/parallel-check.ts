/**
 * @module manifest-check/parallel-check
 * Reads and checks a manifest file for `kai services apply`, on several threads when it is a large JSON manifest.
 *
 * Why: every entry must pass before the first batch is sent (a typo in entry 90,000 must not leave 89,000 applied),
 * so on a 100,000-entry manifest the node sat idle for the ~4 s that one thread took to parse and check 60 MB (and
 * then the same thread spent ~2 s more turning the registrations back into request bodies while the node worked).
 * Here the file's bytes are shared with up to `threads` worker threads; each checks a run of entries a slice at a
 * time (`check-worker.ts`) and hands back the registrations already encoded as JSON, so a batch's body is a copy of
 * bytes. The result is the same `CheckedManifest` either way, and the ordinary check (one thread, the whole
 * document) stays the reference: it is used for YAML, short manifests, anything outside the plain
 * `{"services":[…]}` outline, and for any manifest a worker found a problem in, so errors read exactly alike.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { MANIFEST_MAX_SERVICES, parseJson } from "@kai/protocol";
import { parseDocument, readDocument } from "../input-file.js";
import type { CheckAnswer, CheckJob } from "./check-worker.js";
import { type CheckedEntry, type CheckedManifest, fromPlan } from "./checked-manifest.js";
import { manifestSchemas, planManifest, type PlanOptions } from "./plan-entries.js";
import { findServiceEntries } from "./services-array.js";

/** Each thread takes a run of whole batches' worth of entries. */
const SLICE = 1000;
/**
 * Entries a worker parses at a time. Small enough that a slice's text (~60 KB for typical entries) stays below
 * V8's large-object size: a 600 KB text took fresh memory pages for every slice, and on a virtual machine whose
 * page faults are costly that was a tenth of the check.
 */
const PARSE_SLICE = 100;
/** Fewer entries than this are checked on this thread: starting threads would cost more than it saves. */
const PARALLEL_MIN_ENTRIES = 2 * SLICE;
/** Files this large are likely worth threads (see `checkManifestFile`). */
const EARLY_START_BYTES = 1 << 20;

export interface CheckFileOptions extends PlanOptions {
  /** Threads that may check at once (1: this thread only). */
  threads: number;
}

/** Reads and checks the manifest at `path`; throws the same errors as `planManifest(readDocument(path))`. */
export async function checkManifestFile(path: string, options: CheckFileOptions): Promise<CheckedManifest> {
  /** The ordinary check: the whole document on this thread (its errors name the file, or stdin for `-`). */
  const onThisThread = (document: unknown) => fromPlan(planManifest(document, path === "-" ? "stdin" : path, options));
  // `-` is stdin (input-file.ts), never a file of that name.
  if (options.threads < 2 || path === "-") return onThisThread(await readDocument(path));
  let file: FileBytes;
  let workers: Worker[] = [];
  try {
    // Files this large are likely worth threads: started before reading, their start overlaps it.
    file = readWhole(path, (size) => {
      if (size >= EARLY_START_BYTES) workers = startWorkers(options.threads);
    });
  } catch {
    // Not readable: the ordinary path says why (a usage error).
    await stopWorkers(workers);
    return onThisThread(await readDocument(path));
  }
  const { bytes, shared } = file;
  const ordinary = async () => {
    await stopWorkers(workers);
    return onThisThread(await parseDocument(bytes.toString("utf8"), path));
  };
  if (!shared) return ordinary();
  const found = findServiceEntries(bytes);
  const count = found?.starts.length ?? 0;
  if (!found || count < PARALLEL_MIN_ENTRIES || count > MANIFEST_MAX_SERVICES) return ordinary();
  const slices = Math.ceil(count / SLICE);
  const threads = Math.min(options.threads, slices);
  if (workers.length === 0) workers = startWorkers(threads);
  else if (workers.length > threads) void stopWorkers(workers.splice(threads));
  // Contiguous runs of whole slices, so that each thread's part is in the file's order.
  const parts: Array<{ from: number; to: number }> = [];
  for (let thread = 0; thread < threads; thread++) {
    parts.push({ from: Math.floor((slices * thread) / threads) * SLICE, to: Math.min(count, Math.floor((slices * (thread + 1)) / threads) * SLICE) });
  }
  const answers = await Promise.all(
    workers.map((worker, thread) => answerOf(worker, { bytes: shared, starts: found.starts, ends: found.ends, ...parts[thread]!, fileName: path, sourceName: options.sourceName, slice: PARSE_SLICE })),
  );
  await stopWorkers(workers);
  const checked = answers.every((answer): answer is Extract<CheckAnswer, { ok: true }> => answer.ok) ? answers : undefined;
  if (!checked || repeatsAnId(checked)) return ordinary();
  for (const answer of checked) for (const warning of answer.warnings) options.warn?.(warning);
  return encodedManifest(checked, parts);
}

/** A file's bytes; `shared` when they are in memory the worker threads can read (a regular file). */
interface FileBytes {
  bytes: Buffer;
  shared?: SharedArrayBuffer;
}

/**
 * Reads the whole file, into shared memory when it is a regular file (`sized` is told its size first). A pipe
 * (`-f <(generate)`) or a device has no size: it is read to its end through the same descriptor (opened a second
 * time, a pipe whose first reader went away would have lost what its writer sent) and not shared.
 */
function readWhole(path: string, sized: (size: number) => void): FileBytes {
  const fd = openSync(path, "r");
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { bytes: readFileSync(fd) };
    sized(stat.size);
    const shared = new SharedArrayBuffer(stat.size);
    const bytes = Buffer.from(shared);
    for (let read = 0; read < stat.size; ) {
      const got = readSync(fd, bytes, read, stat.size - read, read);
      if (got === 0) break;
      read += got;
    }
    return { bytes, shared };
  } finally {
    closeSync(fd);
  }
}

function startWorkers(count: number): Worker[] {
  return Array.from({ length: count }, () => new Worker(new URL("./check-worker.js", import.meta.url)));
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.terminate()));
}

/** The worker's answer to `job`; `{ ok: false }` should the thread fail or end without one. */
function answerOf(worker: Worker, job: CheckJob): Promise<CheckAnswer> {
  return new Promise((resolve) => {
    worker.once("message", resolve);
    worker.once("error", () => resolve({ ok: false }));
    worker.once("exit", () => resolve({ ok: false }));
    worker.postMessage(job);
  });
}

/** An id named twice across the parts (each worker saw only its own). */
function repeatsAnId(answers: ReadonlyArray<Extract<CheckAnswer, { ok: true }>>): boolean {
  const seen = new Set<string>();
  for (const answer of answers) {
    for (const id of answer.ids) {
      if (seen.has(id)) return true;
      seen.add(id);
    }
  }
  return false;
}

const BODY_START = Buffer.from('{"services":[');
const BODY_END = Buffer.from("]}");

/** The checked manifest over the workers' encoded registrations. */
function encodedManifest(answers: ReadonlyArray<Extract<CheckAnswer, { ok: true }>>, parts: ReadonlyArray<{ from: number }>): CheckedManifest {
  const entries: CheckedEntry[] = [];
  const partOf: number[] = [];
  answers.forEach((answer, part) => {
    const owners = new Map(answer.owners);
    answer.ids.forEach((id, k) => {
      entries.push({ id, carriesToken: answer.tokens[k] === 1, owner: owners.get(k) });
      partOf.push(part);
    });
  });
  /** Entry `index`'s registration as JSON bytes. */
  const registration = (index: number): Uint8Array => {
    const answer = answers[partOf[index]!]!;
    const k = index - parts[partOf[index]!]!.from;
    return answer.encoded.subarray(answer.offsets[k]!, answer.offsets[k + 1]!);
  };
  return {
    threads: answers.length,
    entries,
    normalised: (index) => {
      // Only for entries the registry already holds: parsed again from the bytes the worker checked.
      const json = registration(index);
      const parsed = parseJson(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8"));
      if (!parsed.ok) throw new Error(`entry ${index} of a checked manifest is not JSON: ${parsed.error}`);
      return manifestSchemas()!.registration.parse(parsed.value);
    },
    body: (indices) => {
      const pieces = indices.map(registration);
      let size = BODY_START.length + BODY_END.length + Math.max(0, pieces.length - 1);
      for (const piece of pieces) size += piece.length;
      const body = Buffer.allocUnsafe(size);
      let at = BODY_START.copy(body, 0);
      pieces.forEach((piece, k) => {
        if (k > 0) body[at++] = 0x2c;
        body.set(piece, at);
        at += piece.length;
      });
      BODY_END.copy(body, at);
      return body;
    },
  };
}
