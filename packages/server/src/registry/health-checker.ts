/**
 * @module registry/health-checker
 * Active HTTP health checks for services that declare `healthCheck`. Debounced (Consul's
 * failures-before-critical / successes-before-passing): one slow or failed reply does not flap the
 * status; only `failuresBeforeOffline` consecutive failures mark the service offline, and only
 * `successesBeforeActive` consecutive successes bring it back. While a check is failing, the health
 * check has the last word: heartbeats do not revive the service. Its verdicts (`passing`, `failing`) go to
 * `HealthVerdicts` (health-verdicts.ts), which the registry and the directory read; every probe's outcome
 * goes to `onProbe` (the gateway's circuit breakers). Both are given to the constructor.
 */
import type { HealthCheck, ServiceRecord } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import type { NodeStore } from "../storage/contracts/node-store.js";
import type { ChangeFeed, Change } from "./change-feed.js";
import type { HealthVerdicts } from "./health-verdicts.js";
import type { RegistryService } from "./registry-service.js";

interface CheckState {
  id: string;
  url: string;
  check: HealthCheck;
  status: ServiceRecord["status"];
  failures: number;
  successes: number;
  /** True while this checker holds the service offline. */
  failing: boolean;
  inFlight: boolean;
  timer: NodeJS.Timeout | null;
}

export interface HealthCheckerDeps {
  registry: RegistryService;
  store: NodeStore;
  feed: ChangeFeed;
  logger: Logger;
  /** Where verdicts are kept for the registry and the directory to read. */
  verdicts: HealthVerdicts;
  /** Told every probe's outcome (the gateway feeds it to the service's circuit breaker). */
  onProbe?: (id: string, ok: boolean) => void;
}

const PAGE = 1000;

function checkable(record: ServiceRecord): record is ServiceRecord & { healthCheck: HealthCheck; url: string } {
  return record.healthCheck !== undefined && record.url !== undefined && /^https?:/i.test(record.url);
}

function target(url: string, path: string): string {
  return url.replace(/\/+$/, "") + path;
}

export class HealthChecker {
  private readonly states = new Map<string, CheckState>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private readonly onProbe: (id: string, ok: boolean) => void;

  constructor(private readonly deps: HealthCheckerDeps) {
    this.onProbe = deps.onProbe ?? (() => undefined);
  }

  async start(): Promise<void> {
    this.unsubscribe = this.deps.feed.subscribe((change) => this.onChange(change));
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listServices({ filter: {}, viewer: { owner: "", admin: true }, limit: PAGE, ...(cursor ? { cursor } : {}) });
      for (const record of page.services) if (checkable(record)) this.schedule(record);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && !this.stopped);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const state of this.states.values()) if (state.timer) clearTimeout(state.timer);
    this.states.clear();
  }

  private onChange({ event }: Change): void {
    const record = event.service;
    const state = this.states.get(record.id);
    if (event.event === "deregistered" || !checkable(record)) {
      if (state?.timer) clearTimeout(state.timer);
      this.states.delete(record.id);
      this.deps.verdicts.forget(record.id);
      return;
    }
    if (state && state.url === record.url && JSON.stringify(state.check) === JSON.stringify(record.healthCheck)) {
      state.status = record.status;
      return;
    }
    if (state?.timer) clearTimeout(state.timer);
    this.schedule(record);
  }

  private schedule(record: ServiceRecord & { healthCheck: HealthCheck; url: string }): void {
    const previous = this.states.get(record.id);
    const state: CheckState = {
      id: record.id,
      url: record.url,
      check: record.healthCheck,
      status: record.status,
      failures: 0,
      successes: 0,
      failing: previous?.failing ?? false,
      inFlight: false,
      timer: null,
    };
    this.states.set(record.id, state);
    // Spread the first checks over one interval so that a restart does not probe everything at once.
    this.arm(state, Math.random() * state.check.interval * 1000);
  }

  private arm(state: CheckState, delayMs: number): void {
    if (this.stopped) return;
    state.timer = setTimeout(() => void this.run(state), delayMs);
    state.timer.unref();
  }

  private async run(state: CheckState): Promise<void> {
    if (this.states.get(state.id) !== state || state.inFlight) return;
    state.inFlight = true;
    const result = await this.probe(state);
    state.inFlight = false;
    if (this.states.get(state.id) !== state) return;
    try {
      if (result.ok) await this.onSuccess(state);
      else await this.onFailure(state, result.reason);
    } catch (error) {
      this.deps.logger.error({ err: error, serviceId: state.id }, "applying a health check result failed");
    }
    this.arm(state, state.check.interval * 1000);
  }

  private async probe(state: CheckState): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      const response = await fetch(target(state.url, state.check.path), {
        method: state.check.method,
        redirect: "manual",
        signal: AbortSignal.timeout(state.check.timeout * 1000),
        headers: { "user-agent": "kai-health-check" },
      });
      await response.body?.cancel();
      return response.status < 400 ? { ok: true } : { ok: false, reason: `HTTP ${response.status}` };
    } catch (error) {
      const name = (error as Error).name;
      return { ok: false, reason: name === "TimeoutError" ? `no reply within ${state.check.timeout}s` : "connection failed" };
    }
  }

  private async onSuccess(state: CheckState): Promise<void> {
    this.onProbe(state.id, true);
    state.failures = 0;
    state.successes++;
    // Debounced like the status: a failing service passes again only after `successesBeforeActive` in a row.
    if (!state.failing) this.deps.verdicts.set(state.id, "passing");
    else if (state.successes >= state.check.successesBeforeActive) {
      state.failing = false;
      this.deps.verdicts.set(state.id, "passing");
      if (state.status === "offline") await this.deps.registry.setStatusBySystem(state.id, "active", "health check passing");
    }
  }

  private async onFailure(state: CheckState, reason: string): Promise<void> {
    this.onProbe(state.id, false);
    state.successes = 0;
    state.failures++;
    if (state.failures >= state.check.failuresBeforeOffline && !state.failing) {
      state.failing = true;
      // Before the status change below, so that its event already reads `failing`.
      this.deps.verdicts.set(state.id, "failing");
      if (state.status !== "offline" && state.status !== "maintenance") {
        await this.deps.registry.setStatusBySystem(state.id, "offline", `health check failed ${state.failures} times: ${reason}`);
      }
    }
  }
}
