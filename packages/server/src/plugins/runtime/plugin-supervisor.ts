/**
 * @module plugins/runtime/plugin-supervisor
 * Keeps one enabled plugin running on this instance: starts its process (plugin-process.ts) with the isolation its
 * trust level gets, opens its ServiceBus session, and when the process ends on its own (a crash, a hang, a limit, a
 * flood of calls) starts it again after a pause that doubles each time. A plugin that ends `crashLoop.count` times
 * within `crashLoop.windowMs` is a crash loop: it stays `failed` until it is enabled again, and the node keeps
 * serving. Every change of state goes to `onChange` (the runtime logs it and updates the plugin's registry record).
 *
 * Before a start it asks which protections this machine offers (isolation-probe.ts): an unverified plugin whose
 * protections (prlimit, bubblewrap's file boundary, a network namespace) are missing is not started (`failed`, the
 * reason names what is missing and how to get it) unless the operator allowed weak isolation
 * (`plugins.allowWeakIsolation`); a trusted or system plugin runs without them (with bubblewrap when the machine has
 * it: its folder is all it needs to read, as for an unverified one), and its status says which it goes without (`weakened`).
 */
import { PLUGIN_PROCESS_ENDS, type BusEvent, type PluginDetail, type PluginProcessEnd, type PluginRunState } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { processOptionsFor } from "./isolation-policy.js";
import { missingProtections, probeIsolation, type IsolationProbe } from "./isolation-probe.js";
import { dependencyProblems } from "./plugin-dependencies.js";
import type { PluginBus, PluginBusSession } from "./plugin-bus.js";
import { PluginProcess, type PluginIsolation, type PluginProcessOptions } from "./plugin-process.js";

export interface RestartPolicy {
  /** The first pause before a restart, ms; it doubles with each restart in a row, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** This many ends within `windowMs` make a crash loop: no more restarts. */
  crashLoop: { count: number; windowMs: number };
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, crashLoop: { count: 5, windowMs: 60_000 } };

/** The policy from the `plugins.restart` settings. */
export function restartPolicyOf(settings: { initialDelayMs: number; maxDelayMs: number; crashLoopCount: number; crashLoopWindowMs: number }): RestartPolicy {
  return { initialDelayMs: settings.initialDelayMs, maxDelayMs: settings.maxDelayMs, crashLoop: { count: settings.crashLoopCount, windowMs: settings.crashLoopWindowMs } };
}

export interface SupervisorStatus {
  state: PluginRunState;
  reason?: string;
  restarts: number;
  since: Date;
  capabilities: readonly string[];
  isolation?: PluginIsolation;
  /** The protections it runs without on this machine (trusted and system plugins, or weak isolation allowed). */
  weakened?: string[];
  /** How its process last ended on its own (the listing's `lastEnd`). */
  lastEnd?: PluginProcessEnd;
}

/** A process's end state as the listing says it: the process's own word where the protocol has it, else `crashed`. */
function endOf(state: string): PluginProcessEnd {
  return (PLUGIN_PROCESS_ENDS as readonly string[]).includes(state) ? (state as PluginProcessEnd) : "crashed";
}

export interface SupervisorDeps {
  bus: PluginBus;
  policy?: RestartPolicy;
  /** Overrides of the process options (tests: a smaller heap, shorter timeouts). */
  processOverrides?: Partial<PluginProcessOptions>;
  /** Which protections this machine offers; default the real probe (tests play a machine without them). */
  probe?: IsolationProbe;
  /** True: an unverified plugin also runs when a protection is missing (`plugins.allowWeakIsolation`). */
  allowWeakIsolation?: boolean;
  onChange(plugin: PluginDetail, status: SupervisorStatus): void;
}

export class PluginSupervisor {
  private process: PluginProcess | null = null;
  private session: PluginBusSession | null = null;
  private status_: SupervisorStatus;
  private ends: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly policy: RestartPolicy;

  constructor(readonly plugin: PluginDetail, private readonly deps: SupervisorDeps) {
    this.policy = deps.policy ?? DEFAULT_RESTART_POLICY;
    this.status_ = { state: "starting", restarts: 0, since: new Date(), capabilities: [] };
  }

  get status(): SupervisorStatus {
    return this.status_;
  }

  /** The capabilities a call may use: declared in the manifest and implemented by the running entrypoint. */
  get capabilities(): readonly string[] {
    return this.status_.state === "running" ? this.status_.capabilities : [];
  }

  /** Starts the process; resolves once it runs, rejects with why it did not (it is then restarted or failed). */
  async start(): Promise<void> {
    this.stopped = false;
    this.set({ state: "starting" });
    let options: PluginProcessOptions;
    try {
      options = { ...processOptionsFor(this.plugin), ...this.deps.processOverrides };
    } catch (error) {
      this.set({ state: "failed", reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    const tools = (this.deps.probe ?? probeIsolation)();
    const weakened = missingProtections(tools, { network: options.network === true });
    if (weakened.length > 0 && this.plugin.trust.level === "unverified" && this.deps.allowWeakIsolation !== true) {
      const reason = `an unverified plugin is not started without its isolation: ${weakened.join("; ")}. To run it anyway, set plugins.allowWeakIsolation: true (docs/security.md "Plugins")`;
      this.set({ state: "failed", reason, capabilities: [] });
      throw new ApiError("plugin_unavailable", `plugin ${this.plugin.id} cannot start: ${reason}`);
    }
    const manifest = this.plugin.manifest!;
    const missing = await dependencyProblems(this.plugin.path, manifest);
    if (missing.length > 0) {
      this.set({ state: "failed", reason: `${missing.join("; ")}; it is not started until enabled again` });
      throw new ApiError("plugin_unavailable", `plugin ${this.plugin.id} cannot start: ${missing[0]}`);
    }
    const session = this.deps.bus.open({ id: this.plugin.id, permissions: manifest.permissions, trust: this.plugin.trust.level }, (event: BusEvent) => this.process?.sendEvent(event));
    let started: PluginProcess;
    try {
      started = await PluginProcess.start(options, session.handle, tools);
    } catch (error) {
      session.close();
      const reason = error instanceof Error ? error.message : String(error);
      this.ended(`could not start: ${reason}`, "failed");
      throw new ApiError("plugin_unavailable", `plugin ${this.plugin.id} could not start: ${reason}`);
    }
    if (this.stopped) {
      session.close();
      await started.stop();
      return;
    }
    this.process = started;
    this.session = session;
    const declared = new Set(manifest.capabilities.map((capability) => capability.name));
    this.set({ state: "running", reason: undefined, capabilities: started.capabilities.filter((name) => declared.has(name)), isolation: started.isolation, ...(weakened.length > 0 ? { weakened } : {}) });
    started.onEnded(() => {
      if (this.process !== started) return;
      this.process = null;
      this.session?.close();
      this.session = null;
      if (!this.stopped) this.ended(started.reason ?? `ended (${started.state})`, endOf(started.state));
    });
  }

  /** Calls one of its capabilities (503 `plugin_unavailable` while it is not running). */
  invoke(capability: string, input: unknown, timeoutMs?: number): Promise<unknown> {
    const running = this.process;
    if (!running || this.status_.state !== "running") {
      return Promise.reject(new ApiError("plugin_unavailable", `plugin ${this.plugin.id} is ${this.status_.state}${this.status_.reason ? `: ${this.status_.reason}` : ""}`));
    }
    return running.invoke(capability, input, timeoutMs);
  }

  /** Its health check: the entrypoint's `health` function when it has one (it must not throw), else being up. */
  async health(): Promise<void> {
    const running = this.process;
    if (!running || this.status_.state !== "running") throw new ApiError("plugin_unavailable", `plugin ${this.plugin.id} is not running: ${this.status_.reason ?? this.status_.state}`);
    if (!running.capabilities.includes("health")) return;
    const answer = await running.invoke("health", {});
    if (answer === false || (typeof answer === "object" && answer !== null && (answer as { ok?: unknown }).ok === false)) {
      throw new ApiError("plugin_unavailable", `plugin ${this.plugin.id} says it is not healthy`);
    }
  }

  /** Stops it for good (disabled, removed, replaced, the node shutting down). */
  async stop(reason = "disabled"): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const running = this.process;
    this.process = null;
    this.session?.close();
    this.session = null;
    if (running) await running.stop();
    this.set({ state: "disabled", reason, capabilities: [] });
  }

  /** The process ended on its own: restart after a pause, or stop for good in a crash loop. */
  private ended(reason: string, end: PluginProcessEnd): void {
    const now = Date.now();
    this.ends = [...this.ends.filter((at) => now - at < this.policy.crashLoop.windowMs), now];
    if (this.ends.length >= this.policy.crashLoop.count) {
      this.set({ state: "failed", reason: `${reason}; it ended ${this.ends.length} times within ${Math.round(this.policy.crashLoop.windowMs / 1000)} s, so it is not restarted until enabled again`, capabilities: [], lastEnd: end });
      return;
    }
    const delay = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** (this.ends.length - 1));
    this.set({ state: "restarting", reason, capabilities: [], lastEnd: end });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped) return;
      this.status_ = { ...this.status_, restarts: this.status_.restarts + 1 };
      // A failed start lands in `ended` again (counted like a crash); nothing else to do here.
      this.start().catch(() => undefined);
    }, delay);
    this.restartTimer.unref();
  }

  private set(change: Partial<SupervisorStatus>): void {
    const next: SupervisorStatus = { ...this.status_, ...change, since: change.state !== undefined && change.state !== this.status_.state ? new Date() : this.status_.since };
    if (change.reason === undefined && "reason" in change) delete next.reason;
    this.status_ = next;
    this.deps.onChange(this.plugin, next);
  }
}
