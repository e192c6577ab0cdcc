/**
 * @module agents/a2a/server/push/push-delivery
 * Pushes every event of a task that has push configs to each config's receiver, in order, from the STORED events
 * (the event hub's task subscription: the task event log, then live, no gap, no duplicate). One loop per config, so
 * a slow or dead receiver delays only its own notifications — never the task (kCore does not wait for anyone here)
 * and never another receiver. Each event is the stream-response shape the SSE streams send (a2a-mapping.ts), POSTed
 * with bounded retries (push-sender.ts); an event that still fails is logged and passed over, and the loop goes on.
 * After each event the config's `deliveredSeq` is stored, so a restart, or a new leader, resumes after the last event
 * pushed (at least once: an event whose send finished but whose position was not yet stored is sent again). After the
 * event that ends the task the config is deleted.
 *
 * A singleton job (cluster/singleton-jobs.ts): only the leading instance delivers, or every receiver would get each
 * event once per instance. It learns of configs from the store: at start, when a config is made on this instance
 * (`wake`), and every `pollMs` (configs made on another instance).
 */
import type { TaskState } from "@kai/protocol";
import type { EventHub } from "../../../../bus/event-hub.js";
import type { Logger } from "../../../../logging/logger.js";
import type { A2aPushStore, StoredPushConfig } from "../../../../storage/contracts/a2a-push-store.js";
import type { TaskStore } from "../../../../storage/contracts/task-store.js";
import type { SingletonJob } from "../../../../cluster/singleton-jobs.js";
import { isTerminal, stateAfter, toStreamResponses } from "../a2a-mapping.js";
import { sendPush, type PushTarget } from "./push-sender.js";

export interface PushDeliverySettings {
  allowPrivate: boolean;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export interface PushDeliveryDeps {
  store: A2aPushStore;
  tasks: Pick<TaskStore, "getTask">;
  hub: Pick<EventHub, "subscribe">;
  settings: PushDeliverySettings;
  /** The config's receiver with its credentials opened (they are stored sealed). */
  targetOf: (config: StoredPushConfig) => PushTarget;
  logger: Logger;
  /** How often the store is read for configs made on other instances. */
  pollMs: number;
}

/** Configs one leader follows at most; more wait for earlier ones to end (a bound on open subscriptions). */
const MAX_FOLLOWED = 10_000;

const keyOf = (config: Pick<StoredPushConfig, "taskId" | "id">) => `${config.taskId}\n${config.id}`;

/** The receiver's origin: what a log line may say about where a push went (never the path, query or credentials). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid url)";
  }
}

export class PushDelivery implements SingletonJob {
  readonly name = "a2a-push";
  private running = false;
  private readonly loops = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> = Promise.resolve();
  private again = false;
  private readonly done = new Set<Promise<void>>();

  constructor(private readonly deps: PushDeliveryDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.wake();
    this.timer = setInterval(() => this.wake(), this.deps.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const controller of this.loops.values()) controller.abort();
    await this.refreshing;
    await Promise.all([...this.done]);
  }

  /** Reads the configs again soon (a config was made or deleted here). Runs one read at a time; a call during one asks for another. */
  wake(): void {
    if (!this.running) return;
    if (this.again) return;
    this.again = true;
    this.refreshing = this.refreshing.then(async () => {
      this.again = false;
      if (!this.running) return;
      try {
        await this.refresh();
      } catch (error) {
        this.deps.logger.warn({ err: error }, "A2A push configs could not be read; trying again at the next poll");
      }
    });
  }

  /**
   * Stops the loop of a config deleted or replaced here (a replaced one is followed again, with its new receiver, by
   * the next read of the configs: `wake`).
   */
  forget(taskId: string, id: string): void {
    const key = keyOf({ taskId, id });
    this.loops.get(key)?.abort();
    this.loops.delete(key);
  }

  private async refresh(): Promise<void> {
    const configs = await this.deps.store.listAllConfigs(MAX_FOLLOWED);
    const present = new Set(configs.map(keyOf));
    for (const [key, controller] of this.loops) if (!present.has(key)) controller.abort();
    for (const config of configs) {
      const key = keyOf(config);
      if (this.loops.has(key) || !this.running) continue;
      const controller = new AbortController();
      this.loops.set(key, controller);
      const loop = this.follow(config, controller.signal)
        .catch((error: unknown) => this.deps.logger.warn({ err: error, task: config.taskId, pushConfig: config.id }, "an A2A push delivery stopped; it resumes at the next poll"))
        .finally(() => {
          if (this.loops.get(key) === controller) this.loops.delete(key);
          this.done.delete(loop);
        });
      this.done.add(loop);
    }
  }

  /** Pushes the task's events after the config's stored position, until the task ends, the config goes or the job stops. */
  private async follow(listed: StoredPushConfig, signal: AbortSignal): Promise<void> {
    const { store, tasks, hub, logger, settings } = this.deps;
    // Read again: the listing may be older than a delivery that just finished (and deleted the config).
    const config = await store.getConfig(listed.taskId, listed.id);
    if (!config || signal.aborted) return;
    const record = await tasks.getTask(config.taskId);
    if (!record || (isTerminal(record.task.state) && record.task.lastSeq <= config.deliveredSeq)) {
      await store.deleteConfig(config.taskId, config.id);
      return;
    }
    const target = this.deps.targetOf(config);
    const receiver = originOf(config.url);
    // From the first event: the state each status update carries is computed along the way (a2a-mapping's stateAfter).
    const subscription = hub.subscribe({ owner: config.owner, admin: false }, { task: config.taskId, after: 0 });
    const stop = () => subscription.close();
    signal.addEventListener("abort", stop, { once: true });
    let state: TaskState = "submitted";
    let delivered = config.deliveredSeq;
    try {
      for (;;) {
        const item = await subscription.next();
        if (!item || signal.aborted) return;
        // Cut by the hub (shutting down, a log it could not read): the next poll starts again from the stored position.
        if (item.type === "dropped") return;
        const { event } = item;
        if (event.seq === undefined) continue;
        state = stateAfter(event, state);
        if (event.seq > delivered) {
          for (const response of toStreamResponses(event, state)) {
            const outcome = await sendPush(target, response, { ...settings, signal });
            if (signal.aborted) return;
            if (!outcome.ok) {
              logger.warn({ task: config.taskId, pushConfig: config.id, receiver, seq: event.seq, attempts: outcome.attempts, reason: outcome.reason }, "an A2A push notification was not delivered; going on with the next event");
            }
          }
          delivered = event.seq;
          if (!(await store.advanceConfig(config.taskId, config.id, delivered))) return; // deleted meanwhile
        }
        if (isTerminal(state)) {
          // The task's last event went out: the config has nothing more to do (A2A: it lives until the task ends).
          await store.deleteConfig(config.taskId, config.id);
          return;
        }
      }
    } finally {
      signal.removeEventListener("abort", stop);
      subscription.close();
    }
  }
}
