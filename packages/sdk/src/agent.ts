/**
 * @module agent
 * `createAgent`: the seed's "Agent Integration" for a service written with the SDK. It registers on
 * start, keeps the lease alive with heartbeats, registers again when the registry has forgotten it
 * (404: the lease expired or someone removed it) or when its definition changed, and deregisters on
 * shutdown. Operations run one at a time, so a heartbeat never races a re-registration or a stop.
 */
import type { ServiceRecord } from "@kai/protocol";
import { deepEqual } from "./deep-equal.js";
import { KaiApiError } from "./errors.js";
import type { Agent, AgentDefinition, AgentOptions, KaiClient } from "./types.js";
import { unrefTimer } from "./timers.js";

/** Heartbeat interval for services without a ttl: they cannot expire, but a heartbeat still finds a lost registration. */
const HEARTBEAT_WITHOUT_TTL_MS = 30_000;

export function createAgent(client: KaiClient, definition: AgentDefinition, options: AgentOptions = {}): Agent {
  return new ServiceAgent(client, definition, options);
}

const isNotFound = (error: unknown) => error instanceof KaiApiError && error.status === 404;

class ServiceAgent implements Agent {
  private definition: AgentDefinition;
  private record: ServiceRecord | null = null;
  private running = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private heartbeatPending = false;
  /** Tail of the operation chain; each operation starts when the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: KaiClient,
    definition: AgentDefinition,
    private readonly options: AgentOptions,
  ) {
    // A private copy: the caller may mutate its object and pass it to update(), which must see a change.
    this.definition = structuredClone(definition);
  }

  get registered(): ServiceRecord | null {
    return this.record;
  }

  start(): Promise<ServiceRecord> {
    return this.serialise(async () => {
      if (this.running && this.record) return this.record;
      const { service } = await this.client.services.register(this.definition);
      this.record = service;
      this.running = true;
      this.scheduleHeartbeats();
      return service;
    });
  }

  update(definition: AgentDefinition): Promise<ServiceRecord> {
    return this.serialise(async () => {
      if (!this.running || !this.record) throw new Error("the agent is not started: call start() first");
      if (deepEqual(definition, this.definition)) return this.record;
      const next = structuredClone(definition);
      if (next.id !== this.definition.id) {
        // A new id is a new service; the old one should not linger until its lease runs out.
        await this.removeIgnoringMissing(this.definition.id);
      }
      const { service } = await this.client.services.register(next);
      this.definition = next;
      this.record = service;
      this.scheduleHeartbeats();
      return service;
    });
  }

  stop(options: { deregister?: boolean } = {}): Promise<void> {
    // Stop the timer at once, not after the queue drains, so that no new heartbeat is started meanwhile.
    this.clearTimer();
    return this.serialise(async () => {
      const wasRunning = this.running;
      this.running = false;
      if (wasRunning && (options.deregister ?? true)) await this.removeIgnoringMissing(this.definition.id);
      this.record = null;
    });
  }

  private heartbeatIntervalMs(): number {
    if (this.options.heartbeatIntervalMs !== undefined) return this.options.heartbeatIntervalMs;
    // A third of the ttl: two heartbeats may be lost before the lease runs out.
    return this.definition.ttl !== undefined ? (this.definition.ttl * 1000) / 3 : HEARTBEAT_WITHOUT_TTL_MS;
  }

  private scheduleHeartbeats(): void {
    this.clearTimer();
    this.timer = setInterval(() => this.beat(), Math.max(1, this.heartbeatIntervalMs()));
    // A service's own work keeps its process alive; the heartbeat alone should not.
    unrefTimer(this.timer);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    // A slow registry must not pile up heartbeats; the next tick tries again.
    if (this.heartbeatPending) return;
    this.heartbeatPending = true;
    void this.serialise(async () => {
      if (!this.running) return;
      try {
        await this.client.services.heartbeat(this.definition.id);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The registry forgot us (lease expired, removed by an admin, data lost): register again.
        const { service } = await this.client.services.register(this.definition);
        if (this.running) this.record = service;
      }
    })
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        this.heartbeatPending = false;
      });
  }

  private async removeIgnoringMissing(id: string): Promise<void> {
    try {
      await this.client.services.remove(id);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // The caller's error handler failed; the agent carries on regardless.
    }
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
