/**
 * @module manifest-check/parallel-check
 * Reads and checks a manifest file for `kai services apply`, on several threads when it is a large JSON manifest.
 *
 * Why: every entry must pass before the first batch is sent (a typo in entry 90,000 must not leave 89,000 applied),
 * so on a 100,000-entry manifest the node sat idle for the ~4 s that one thread took to parse and check 60 MB (and
 * then the same thread spent ~2 s more turning the registrations back into request bodies while the node worked).
 * Here the file's bytes are shared with up to `threads` worker threads. This thread scans the list for the entries'
 * boundaries and hands each run of entries to the threads in turn as soon as it is found (the threads check while the
 * scan goes on: scanning it all first kept them waiting ~0.35 s, on two cores shared with their own start); each
 * checks its runs a slice at a time (`check-worker.ts`) and hands back the registrations already encoded as JSON, so
 * a batch's body is a copy of bytes. The result is the same `CheckedManifest` either way, and the ordinary check (one
 * thread, the whole document) stays the reference: it is used for YAML, short manifests, anything outside the plain
 * `{"services":[…]}` outline, and for any manifest a thread found a problem in, so errors read exactly alike.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { MANIFEST_MAX_SERVICES, parseJson, type ServiceRegistration } from "@kai/protocol";
import { documentFrom, readDocument } from "../input-file.js";
import type { CheckAnswer, FileMessage, RunAnswer, RunMessage } from "./check-worker.js";
import { type CheckedEntry, type CheckedManifest, fromPlan } from "./checked-manifest.js";
import { planManifest, type PlanOptions } from "./plan-entries.js";
import { type ServicesArray, ServiceEntryScanner } from "./services-array.js";

/** Entries in a run: what one thread checks at a time (a batch's worth). */
const RUN = 1000;
/**
 * Entries a worker parses at a time. Small enough that a slice's text (~60 KB for typical entries) stays below
 * V8's large-object size: a 600 KB text took fresh memory pages for every slice, and on a virtual machine whose
 * page faults are costly that was a tenth of the check.
 */
const PARSE_SLICE = 100;
/** Fewer entries than this are checked on this thread: starting threads would cost more than it saves. */
const PARALLEL_MIN_ENTRIES = 2 * RUN;
/** Files this large are likely worth threads (see `checkManifestFile`). */
const EARLY_START_BYTES = 1 << 20;

export interface CheckFileOptions extends PlanOptions {
  /** Threads that may check at once (1: this thread only). */
  threads: number;
}

type Checked = Extract<CheckAnswer, { ok: true }>;

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
    return onThisThread(await documentFrom(bytes.toString("utf8"), path));
  };
  if (!shared) return ordinary();
  const fileMessage: FileMessage = { type: "file", bytes: shared, fileName: path, sourceName: options.sourceName, slice: PARSE_SLICE };
  // With threads already started, each run goes out as the scan finds it; otherwise the list is scanned to its end
  // first, and threads are started only if it is long enough.
  let check = workers.length > 0 ? new RunCheck(workers, fileMessage) : undefined;
  const held: ServicesArray[] = [];
  const scanner = new ServiceEntryScanner(bytes);
  let runs = 0;
  let count = 0;
  for (;;) {
    // Every run but the last holds RUN entries (the scanner's promise): run r starts at entry r * RUN.
    const run = scanner.take(RUN);
    if (run === undefined) return ordinary();
    if (run === null) break;
    runs++;
    count += run.starts.length;
    if (count > MANIFEST_MAX_SERVICES) return ordinary();
    if (check) check.send(run);
    else held.push(run);
  }
  if (count < PARALLEL_MIN_ENTRIES) return ordinary();
  if (!check) {
    workers = startWorkers(Math.min(options.threads, runs));
    check = new RunCheck(workers, fileMessage);
    for (const run of held) check.send(run);
  }
  const answers = await check.all();
  await stopWorkers(workers);
  if (!answers || repeatsAnId(answers)) return ordinary();
  for (const answer of answers) for (const warning of answer.warnings) options.warn?.(warning);
  return encodedManifest(answers, Math.min(workers.length, runs));
}

/**
 * Runs handed to the threads in turn, each answered by the thread that took it. The first refusal (or a thread that
 * fails or ends) settles the whole check as failed: the ordinary check then says what is wrong.
 */
class RunCheck {
  private readonly answers: Checked[] = [];
  private sent = 0;
  private received = 0;
  private failed = false;
  private wake: (() => void) | undefined;

  constructor(private readonly workers: readonly Worker[], file: FileMessage) {
    const failed = () => {
      this.failed = true;
      this.wake?.();
    };
    for (const worker of workers) {
      worker.postMessage(file);
      worker.on("message", (reply: RunAnswer) => {
        if (!reply.answer.ok) return failed();
        this.answers[reply.run] = reply.answer;
        this.received++;
        this.wake?.();
      });
      worker.once("error", failed);
      worker.once("exit", failed);
    }
  }

  send(run: ServicesArray): void {
    const message: RunMessage = { type: "run", run: this.sent, starts: run.starts, ends: run.ends };
    this.workers[this.sent % this.workers.length]!.postMessage(message);
    this.sent++;
  }

  /** Every run's answer, in the file's order; `undefined` when any run was refused or a thread failed. */
  async all(): Promise<Checked[] | undefined> {
    while (!this.failed && this.received < this.sent) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.failed ? undefined : this.answers;
  }
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

/** An id named twice across the runs (each run was checked alone). */
function repeatsAnId(answers: readonly Checked[]): boolean {
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

/** The checked manifest over the threads' encoded registrations, one answer per run of RUN entries. */
function encodedManifest(answers: readonly Checked[], threads: number): CheckedManifest {
  const entries: CheckedEntry[] = [];
  for (const answer of answers) {
    const owners = new Map(answer.owners);
    answer.ids.forEach((id, k) => entries.push({ id, carriesToken: answer.tokens[k] === 1, owner: owners.get(k) }));
  }
  /** Entry `index`'s registration as JSON bytes. */
  const registration = (index: number): Uint8Array => {
    const answer = answers[Math.floor(index / RUN)]!;
    const k = index % RUN;
    return answer.encoded.subarray(answer.offsets[k]!, answer.offsets[k + 1]!);
  };
  return {
    threads,
    entries,
    normalised: (index) => {
      // Only for entries the registry already holds. The bytes are the normalised registration a worker checked and
      // encoded, so parsing them gives it back: no second run of the schema (a re-apply of 100,000 spent ~0.7 s so).
      const json = registration(index);
      const parsed = parseJson(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8"));
      if (!parsed.ok) throw new Error(`entry ${index} of a checked manifest is not JSON: ${parsed.error}`);
      return parsed.value as ServiceRegistration;
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
