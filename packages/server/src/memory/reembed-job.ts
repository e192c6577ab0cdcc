/**
 * @module memory/reembed-job
 * Re-embedding every memory under another model (issue 17: "re-embedding when the embedding model changes, as a
 * background job with progress"). Vectors of two models never share an index partition (memory-service.ts), so after
 * `memory.model` changes, searches embed their query with the new model and find only memories stored since: this job
 * moves the others. It walks the rows in id order, embeds the texts of those under another model in batches through
 * the node's gateway (as the admin who started it: their token decides which embedding services may be used), and
 * replaces each row's vector and model, then its index entry (MemoryService.replaceEmbeddings).
 *
 * Progress is stored in the node's settings (`memory.reembed`), written after every batch, so every instance of a
 * node answers the same status and a cancel asked of any instance reaches the one running it (it reads the setting
 * before each batch). The job runs on the instance it was started on; if that instance shuts down, the job stops
 * after its batch as `interrupted`; if it dies, the status turns `interrupted` once its progress is a minute old.
 * Starting again resumes: memories already under the model are
 * skipped, so a second run (or two started at once on two instances) only repeats work, never harms.
 * A batch that fails (the embedding service down, the model unknown) ends the job as `failed` with the gateway's error;
 * nothing already moved is lost.
 */
import { z } from "zod";
import { parseJson, ReembedStatusSchema, type ReembedStatus } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { SemanticMemoryStore, StoredMemory } from "../storage/contracts/semantic-memory-store.js";
import type { Embedder } from "./gateway-embedder.js";
import type { MemoryService } from "./memory-service.js";
import { normalise } from "./vector-index.js";

/** The settings key of the job's stored progress. */
export const REEMBED_META_KEY = "memory.reembed";
/** Texts per embedding request. */
const BATCH = 32;
/** Rows read per page while counting and walking. */
const PAGE = 1_000;
/** A running job whose progress is older than this ran on an instance that stopped. */
const STALE_MS = 60_000;

/** What is stored: the status, when it was last written, and whether a cancel was asked. */
const StoredReembedSchema = ReembedStatusSchema.extend({ heartbeatAt: z.number(), cancelRequested: z.boolean() });
type StoredReembed = z.infer<typeof StoredReembedSchema>;

const IDLE: ReembedStatus = { state: "idle", model: null, total: 0, done: 0, skipped: 0, startedAt: null, finishedAt: null, instance: null, error: null };

export interface ReembedJobDeps {
  store: SemanticMemoryStore;
  settings: { getMeta(key: string): Promise<string | null>; setMeta(key: string, value: string): Promise<void> };
  service: MemoryService;
  embedder: Embedder;
  /** `memory.model`: the target when the request names none. */
  defaultModel: string | undefined;
  /** This instance's name, shown in the status. */
  instanceName: string;
  logger: Logger;
  now?: () => number;
}

export class ReembedJob {
  private readonly now: () => number;
  /** The job running in this process, if any. */
  private active: { cancel: boolean; stop: boolean; done: Promise<void> } | null = null;

  constructor(private readonly deps: ReembedJobDeps) {
    this.now = deps.now ?? Date.now;
  }

  async status(): Promise<ReembedStatus> {
    const stored = await this.read();
    if (!stored) return IDLE;
    const { heartbeatAt: _heartbeatAt, cancelRequested: _cancel, ...status } = stored;
    return this.isStale(stored) ? { ...status, state: "interrupted" } : status;
  }

  /** Starts moving every memory not under `model` (else `memory.model`) to it; answers the first status. */
  async start(principal: Principal, model: string | undefined): Promise<ReembedStatus> {
    const target = model ?? this.deps.defaultModel;
    if (target === undefined) {
      throw new ApiError("validation_failed", "name the model to re-embed with: memory.model is not set", [{ path: "body.model", message: "required when memory.model is not set" }]);
    }
    const current = await this.read();
    if (this.active || (current?.state === "running" && !this.isStale(current))) {
      throw new ApiError("conflict", `a re-embedding to ${current?.model ?? target} is already running on ${current?.instance ?? this.deps.instanceName}`);
    }
    let total = 0;
    for await (const page of this.rows()) total += page.filter((memory) => memory.model !== target).length;
    const status: StoredReembed = {
      state: "running", model: target, total, done: 0, skipped: 0, startedAt: new Date(this.now()).toISOString(), finishedAt: null,
      instance: this.deps.instanceName, error: null, heartbeatAt: this.now(), cancelRequested: false,
    };
    await this.write(status);
    const active = { cancel: false, stop: false, done: Promise.resolve() };
    active.done = this.run(principal, target, status, active).finally(() => {
      if (this.active === active) this.active = null;
    });
    this.active = active;
    this.deps.logger.info({ model: target, total }, "re-embedding memories started");
    return this.status();
  }

  /** Asks the running job to stop after its current batch (on whichever instance it runs). */
  async cancel(): Promise<ReembedStatus> {
    const current = await this.read();
    if (!current || current.state !== "running" || this.isStale(current)) throw new ApiError("conflict", "no re-embedding is running");
    if (this.active) this.active.cancel = true;
    await this.write({ ...current, cancelRequested: true });
    return this.status();
  }

  /** Resolves once the job running in this process (if any) has ended: for tests. */
  async settled(): Promise<void> {
    await this.active?.done;
  }

  /** Shutdown: the running job stops after its current batch, as `interrupted` (starting it again resumes). */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active.stop = true;
    await this.active.done;
  }

  private async run(principal: Principal, target: string, status: StoredReembed, active: { cancel: boolean; stop: boolean }): Promise<void> {
    try {
      for await (const page of this.rows()) {
        const pending = page.filter((memory) => memory.model !== target);
        for (let start = 0; start < pending.length; start += BATCH) {
          if (active.stop) {
            await this.finish(status, "interrupted");
            this.deps.logger.info({ model: target, done: status.done }, "re-embedding memories interrupted by shutdown; starting it again resumes");
            return;
          }
          if (active.cancel || (await this.read())?.cancelRequested) {
            await this.finish(status, "canceled");
            this.deps.logger.info({ model: target, done: status.done }, "re-embedding memories canceled");
            return;
          }
          const batch = pending.slice(start, start + BATCH);
          const moved = await this.moveBatch(principal, target, batch);
          status.done += moved;
          status.skipped += batch.length - moved;
          status.heartbeatAt = this.now();
          await this.write(status);
        }
      }
      await this.finish(status, "completed");
      this.deps.logger.info({ model: target, done: status.done, skipped: status.skipped }, "re-embedding memories completed");
    } catch (error) {
      status.error = error instanceof ApiError ? { code: error.code, message: error.message } : { code: "internal", message: "the re-embedding stopped on an unexpected error" };
      await this.finish(status, "failed").catch(() => undefined);
      this.deps.logger.warn({ model: target, done: status.done, code: status.error.code }, "re-embedding memories failed; starting it again resumes");
    }
  }

  private async moveBatch(principal: Principal, target: string, batch: StoredMemory[]): Promise<number> {
    const { model, vectors } = await this.deps.embedder.embed(principal, batch.map((memory) => memory.text), undefined, target);
    const replacements = batch.map((memory, index) => {
      try {
        return { id: memory.id, vector: normalise(vectors[index]!) };
      } catch {
        throw new ApiError("upstream_invalid_response", "the embedding service answered a zero vector");
      }
    });
    return this.deps.service.replaceEmbeddings(model, replacements);
  }

  private async finish(status: StoredReembed, state: "completed" | "failed" | "canceled" | "interrupted"): Promise<void> {
    status.state = state;
    status.finishedAt = new Date(this.now()).toISOString();
    status.heartbeatAt = this.now();
    await this.write(status);
  }

  private async *rows(): AsyncGenerator<StoredMemory[]> {
    for (let after: string | null = null; ; ) {
      const page = await this.deps.store.scan(after, PAGE);
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.id;
    }
  }

  private isStale(stored: StoredReembed): boolean {
    return stored.state === "running" && !this.active && this.now() - stored.heartbeatAt > STALE_MS;
  }

  private async read(): Promise<StoredReembed | null> {
    const text = await this.deps.settings.getMeta(REEMBED_META_KEY);
    if (text === null) return null;
    const json = parseJson(text);
    if (!json.ok) return null;
    const parsed = StoredReembedSchema.safeParse(json.value);
    return parsed.success ? parsed.data : null;
  }

  private write(status: StoredReembed): Promise<void> {
    return this.deps.settings.setMeta(REEMBED_META_KEY, JSON.stringify(status));
  }
}
