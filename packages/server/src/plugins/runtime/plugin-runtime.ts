/**
 * @module plugins/runtime/plugin-runtime
 * Which plugins run on this instance, and calls into them (issue 18, docs/plugins.md "Running plugins").
 *
 * Enabling is node-wide: the set of enabled plugin ids lives in the node's settings (`plugins.enabled`), so every
 * instance of a cluster runs the same plugins (each from its own disk) and a restart brings them back; a change on
 * one instance reaches the others as a `plugins_changed` cluster signal; when this instance may have missed signals
 * (its cluster connection was down: `signals.onMissed`), it reads the enabled set again and reconciles, so a plugin
 * enabled or disabled elsewhere meanwhile does not stay stopped or running here until the next change. Each enabled plugin that the catalog found
 * valid and compatible gets a supervisor (plugin-supervisor.ts), which keeps its process running.
 *
 * A running plugin is a registry record `plugin:<id>` of type `tool`, visible to every signed-in caller, with its
 * capabilities as skills (transport `plugin`), kept alive by heartbeats while it runs: its capabilities are routable
 * through `POST /api/route/{capability}` and usable as agent steps, and a node that dies takes its record offline
 * within the record's lease. A call's input is checked against the JSON Schema the manifest declares for the
 * capability (ajv, compiled once per plugin start) before it reaches the plugin, and its output against the output
 * schema before it reaches the caller (502 `upstream_invalid_response`: the plugin broke its own contract).
 *
 * Every lifecycle change is in the security log: enable and disable here (`plugin.enable`, `plugin.disable`), and a
 * plugin the supervisor stopped (a crash, a hang, a limit, a flood, a refused start: `plugin.stopped`).
 *
 * After a rescan (`reload`), a running plugin whose folder changed (another version installed, a file edited) is
 * restarted from the new folder: hot reload without restarting the node.
 */
import { createHash } from "node:crypto";
import type { Ajv, ValidateFunction } from "ajv";
import { z } from "zod";
import {
  AGENT_METADATA_KEY,
  AgentLimitsSchema,
  parseJson,
  type AgentRecordMetadata,
  ServiceRegistrationSchema,
  type PluginDetail,
  type PluginRuntime as PluginRuntimeView,
} from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { SecurityEventInput } from "../../auth/security-log.js";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import { ApiError } from "../../errors.js";
import type { Logger } from "../../logging/logger.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { PluginCatalog } from "../plugin-catalog.js";
import { hashPluginFiles } from "../plugin-files.js";
import type { PluginBus } from "./plugin-bus.js";
import { warmIsolationProbe, type IsolationProbe } from "./isolation-probe.js";
import type { PluginProcessOptions } from "./plugin-process.js";
import { PluginSupervisor, type RestartPolicy, type SupervisorStatus } from "./plugin-supervisor.js";

/** The settings key of the enabled set: `{ "<id>": { at, by } }`. */
export const ENABLED_PLUGINS_KEY = "plugins.enabled";
/** The registry record of a running plugin. */
export const pluginRecordId = (id: string) => `plugin:${id}`;
/** Where in a plugin record's metadata its plugin part lives. */
export const PLUGIN_METADATA_KEY = "plugin";

/** A plugin record's lease: without the runtime's heartbeat (every third of it) it goes offline. */
const RECORD_TTL_SECONDS = 30;
const NODE: Principal = { tokenId: "node:plugins", owner: "node", scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };

/** The stored enabled set: plugin id → when and by whom it was enabled. */
const EnabledSetSchema = z.record(z.string().max(255), z.object({ at: z.string(), by: z.string() }));
type EnabledEntry = z.infer<typeof EnabledSetSchema>[string];

export interface PluginRuntimeDeps {
  catalog: Pick<PluginCatalog, "list" | "get" | "scan">;
  settings: { getMeta(key: string): Promise<string | null>; setMeta(key: string, value: string): Promise<void> };
  registry: Pick<RegistryService, "register" | "heartbeat" | "remove">;
  bus: PluginBus;
  /** The security log: every enable and disable is recorded (who, which plugin). */
  audit?: { recordLater(input: SecurityEventInput): void };
  logger: Logger;
  /** The cluster's signals when instances share a database: enable/disable on one reaches the others. */
  signals?: Pick<ClusterSignals, "publish" | "subscribe" | "onMissed">;
  policy?: RestartPolicy;
  processOverrides?: Partial<PluginProcessOptions>;
  /** Which protections this machine offers (default the real probe; tests play a machine without them). */
  probe?: IsolationProbe;
  /** `plugins.allowWeakIsolation`: unverified plugins also run when a protection is missing. */
  allowWeakIsolation?: boolean;
}

interface Running {
  supervisor: PluginSupervisor;
  /** The folder's content when it started (file hashes), to tell a changed folder on reload. */
  fingerprint: string;
  validators: Map<string, ValidateFunction>;
  outputValidators: Map<string, ValidateFunction>;
}

export class PluginRuntime {
  private enabled = new Map<string, EnabledEntry>();
  private readonly running = new Map<string, Running>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly offSignals: Array<() => void> = [];
  private reconciling: Promise<void> = Promise.resolve();
  private closed = false;
  /** Made with the first plugin that starts (ajv loads only then: most nodes run no plugin). */
  private ajv: Ajv | undefined;
  /** The registration of a plugin's record that its last start set off (enable answers after it). */
  private readonly registering = new Map<string, Promise<void>>();

  constructor(private readonly deps: PluginRuntimeDeps) {}

  /** Reads the enabled set and starts those plugins (a plugin that fails to start is reported, never fatal). */
  async open(): Promise<void> {
    await this.readEnabled();
    const signals = this.deps.signals;
    if (signals) {
      this.offSignals.push(
        signals.subscribe("plugins_changed", (_payload, meta) => {
          if (!meta.fromSelf) this.followEnabledSet("a plugins_changed signal");
        }),
        // Signals lost while this instance was cut off: the stored set is the truth, whatever changed meanwhile.
        signals.onMissed(() => this.followEnabledSet("missed cluster signals")),
      );
    }
    this.heartbeat = setInterval(() => void this.beat(), (RECORD_TTL_SECONDS * 1000) / 3);
    this.heartbeat.unref();
    await this.schedule(() => this.reconcile());
  }

  /** Enables a plugin node-wide and starts it here; answers once it runs or failed to start (its state says why). */
  async enable(id: string, by: string): Promise<void> {
    const plugin = this.deps.catalog.get(id);
    if (plugin.state !== "discovered") throw new ApiError("conflict", `plugin ${id} cannot be enabled: it is ${plugin.state}${plugin.errors[0] ? ` (${plugin.errors[0].message})` : ""}`);
    this.enabled.set(id, { at: new Date().toISOString(), by });
    await this.saveEnabled(id);
    this.deps.audit?.recordLater({ type: "plugin.enable", outcome: "success", actor: by, details: { plugin: id, version: plugin.version, trust: plugin.trust.level } });
    // Enabling again restarts a plugin that failed (a crash loop waits for exactly this).
    await this.schedule(async () => {
      const current = this.running.get(id);
      if (current && current.supervisor.status.state === "failed") await this.stopOne(id, "restarted by enable");
      await this.reconcile();
    });
  }

  /** Disables a plugin node-wide and stops it here (its record leaves the registry). */
  async disable(id: string, by: string): Promise<void> {
    this.deps.catalog.get(id);
    this.enabled.delete(id);
    await this.saveEnabled(id);
    this.deps.audit?.recordLater({ type: "plugin.disable", outcome: "success", actor: by, details: { plugin: id } });
    this.deps.logger.info({ plugin: id, by }, `plugin ${id} disabled`);
    await this.schedule(() => this.reconcile());
  }

  /** After the catalog read the folders again: start, stop and restart (changed folders) to match. `by`: an operator's rescan (security-logged). */
  reload(by?: string): Promise<void> {
    if (by !== undefined) this.deps.audit?.recordLater({ type: "plugin.rescan", outcome: "success", actor: by, details: { plugins: this.deps.catalog.list().plugins.length } });
    return this.schedule(() => this.reconcile({ checkFolders: true }));
  }

  /** Starts `id` from its current folder (restarting it) and runs its health check: the installer's proof a new version works. */
  async verify(id: string): Promise<void> {
    if (!this.enabled.has(id)) return;
    await this.schedule(async () => {
      await this.stopOne(id, "replaced by another version");
      await this.reconcile();
    });
    const current = this.running.get(id);
    if (!current) throw new ApiError("plugin_start_failed", `plugin ${id} did not start: ${this.deps.catalog.get(id).errors[0]?.message ?? "it is not runnable"}`);
    if (current.supervisor.status.state !== "running") throw new ApiError("plugin_start_failed", `plugin ${id} did not start: ${current.supervisor.status.reason ?? current.supervisor.status.state}`);
    try {
      await current.supervisor.health();
    } catch (error) {
      throw new ApiError("plugin_start_failed", `plugin ${id} failed its health check: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** What the listing shows for a plugin: enabled or not, and its process's state here. */
  viewOf(id: string): PluginRuntimeView {
    const current = this.running.get(id);
    const enabled = this.enabled.has(id);
    if (!current) return { enabled, state: "disabled", restarts: 0, capabilities: [], ...(enabled ? { reason: "enabled, but not runnable on this instance (see the plugin's state and problems)" } : {}) };
    const status = current.supervisor.status;
    return {
      enabled,
      state: status.state,
      ...(status.reason !== undefined ? { reason: status.reason } : {}),
      ...(status.lastEnd !== undefined ? { lastEnd: status.lastEnd } : {}),
      restarts: status.restarts,
      since: status.since.toISOString(),
      capabilities: [...status.capabilities],
      ...(status.isolation ? { isolation: { ...status.isolation } } : {}),
    };
  }

  /** The running plugin here that offers `capability` (the first enabled one, in id order), or undefined. */
  providerOf(capability: string): string | undefined {
    return [...this.running.keys()].sort().find((id) => this.running.get(id)!.supervisor.capabilities.includes(capability));
  }

  /** True when some enabled plugin's manifest declares `capability` (running here or not). */
  declares(capability: string): boolean {
    return [...this.running.values()].some(({ supervisor }) => supervisor.plugin.manifest?.capabilities.some((declared) => declared.name === capability) === true);
  }

  /** Calls `capability` on the plugin that offers it here (or `pluginId`), its input checked against the manifest's schema. */
  async invoke(capability: string, input: unknown, options: { pluginId?: string; timeoutMs?: number } = {}): Promise<{ pluginId: string; output: unknown }> {
    const pluginId = options.pluginId ?? this.providerOf(capability);
    const current = pluginId === undefined ? undefined : this.running.get(pluginId);
    if (!pluginId || !current) throw new ApiError("plugin_unavailable", `no plugin running on this instance offers ${capability}`);
    const validate = current.validators.get(capability);
    if (validate && !validate(input)) {
      throw new ApiError("plugin_input_invalid", `the input does not match the schema plugin ${pluginId} declares for ${capability}: ${(this.ajv?.errorsText(validate.errors, { dataVar: "input" }) ?? "invalid").slice(0, 500)}`);
    }
    const output = await current.supervisor.invoke(capability, input, options.timeoutMs);
    const check = current.outputValidators.get(capability);
    if (check && !check(output)) {
      throw new ApiError("upstream_invalid_response", `plugin ${pluginId} answered ${capability} with an output that does not match the schema it declares: ${(this.ajv?.errorsText(check.errors, { dataVar: "output" }) ?? "invalid").slice(0, 500)}`);
    }
    return { pluginId, output };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.offSignals.splice(0)) off();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.reconciling.catch(() => undefined);
    // Records stay: another instance may run the same plugins; without heartbeats they go offline within their lease.
    await Promise.all([...this.running.values()].map(({ supervisor }) => supervisor.stop("the node is shutting down")));
    this.running.clear();
  }

  /** Reads the stored enabled set again and starts and stops to match (another instance changed it, or may have). */
  private followEnabledSet(why: string): void {
    this.schedule(async () => {
      if (this.closed) return;
      await this.readEnabled();
      await this.reconcile();
    }).catch((error: unknown) => {
      this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error), why }, "plugins: the enabled set could not be read again; it is read at the next change or start");
    });
  }

  /** Runs `work` after what is already queued (start/stop decisions never interleave). */
  private schedule(work: () => Promise<void>): Promise<void> {
    const next = this.reconciling.then(work);
    this.reconciling = next.catch(() => undefined);
    return next;
  }

  /**
   * Starts the enabled plugins that are not running and stops the rest. With `checkFolders` (after a rescan) a running
   * plugin's folder is hashed again and a changed one restarted; otherwise (enable, disable, a signal) running plugins
   * are left alone, so an enable does not re-read every other plugin's files.
   */
  private async reconcile(options: { checkFolders?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    const found = new Map(this.deps.catalog.list().plugins.map((plugin) => [plugin.id, plugin]));
    for (const [id] of this.running) {
      const summary = found.get(id);
      if (!this.enabled.has(id) || !summary || summary.state !== "discovered") await this.stopOne(id, this.enabled.has(id) ? "its folder is gone or no longer valid" : "disabled");
    }
    for (const id of [...this.enabled.keys()].sort()) {
      const summary = found.get(id);
      if (!summary || summary.state !== "discovered") continue;
      const current = this.running.get(id);
      if (current && !options.checkFolders) continue;
      const detail = this.deps.catalog.get(id);
      const fingerprint = await this.fingerprintOf(detail);
      if (current && current.fingerprint === fingerprint && current.supervisor.plugin.trust.level === detail.trust.level) continue;
      if (current) await this.stopOne(id, "its folder changed: restarting from the new one");
      await this.startOne(detail, fingerprint);
    }
  }

  private async startOne(plugin: PluginDetail, fingerprint: string): Promise<void> {
    // The real probe's trial runs, awaited here rather than run synchronously by the supervisor's first start.
    if (!this.deps.probe) await warmIsolationProbe();
    this.ajv ??= new (await import("ajv")).Ajv({ strict: false, allErrors: false });
    const ajv = this.ajv;
    const validators = new Map<string, ValidateFunction>();
    const outputValidators = new Map<string, ValidateFunction>();
    for (const capability of plugin.manifest?.capabilities ?? []) {
      for (const [which, schema, into] of [["input", capability.input, validators], ["output", capability.output, outputValidators]] as const) {
        if (!schema) continue;
        try {
          into.set(capability.name, ajv.compile(schema));
        } catch (error) {
          this.deps.logger.warn({ plugin: plugin.id, capability: capability.name }, `plugin ${plugin.id}: the ${which} schema of ${capability.name} is not a usable JSON Schema (${error instanceof Error ? error.message.slice(0, 200) : "invalid"}); its calls are refused`);
          into.set(capability.name, Object.assign(() => false, { errors: [] }) as unknown as ValidateFunction);
        }
      }
    }
    const supervisor = new PluginSupervisor(plugin, {
      bus: this.deps.bus,
      ...(this.deps.policy ? { policy: this.deps.policy } : {}),
      ...(this.deps.processOverrides ? { processOverrides: this.deps.processOverrides } : {}),
      ...(this.deps.probe ? { probe: this.deps.probe } : {}),
      allowWeakIsolation: this.deps.allowWeakIsolation === true,
      onChange: (changed, status) => this.onChange(changed, status),
    });
    this.running.set(plugin.id, { supervisor, fingerprint, validators, outputValidators });
    // A failed start is in the supervisor's state (and restarted by it); enabling never fails for it.
    await supervisor.start().catch(() => undefined);
    await this.registering.get(plugin.id);
  }

  private async stopOne(id: string, reason: string): Promise<void> {
    const current = this.running.get(id);
    if (!current) return;
    this.running.delete(id);
    await current.supervisor.stop(reason);
    await this.deps.registry.remove(NODE, pluginRecordId(id)).catch(() => undefined);
  }

  /** A supervisor's state changed: log it, and register the plugin's record while it runs. */
  private onChange(plugin: PluginDetail, status: SupervisorStatus): void {
    const line = { plugin: plugin.id, state: status.state, restarts: status.restarts, ...(status.reason ? { reason: status.reason } : {}) };
    if (status.state === "failed" || status.state === "restarting") this.deps.logger.warn(line, `plugin ${plugin.id} is ${status.state}${status.reason ? `: ${status.reason}` : ""}`);
    else this.deps.logger.info(line, `plugin ${plugin.id} is ${status.state}`);
    if (status.state === "running" && status.weakened) this.deps.logger.warn({ plugin: plugin.id, weakened: status.weakened }, `plugin ${plugin.id} runs without some of its isolation: ${status.weakened.join("; ")}`);
    // The supervisor stopped it (it ended on its own, or was refused a start): an operator must be able to see who and why.
    if (status.state === "failed" || status.state === "restarting") {
      this.deps.audit?.recordLater({ type: "plugin.stopped", outcome: "failure", actor: pluginRecordId(plugin.id), details: { plugin: plugin.id, version: plugin.version, trust: plugin.trust.level, state: status.state, restarts: status.restarts, ...(status.reason ? { reason: status.reason.slice(0, 500) } : {}) } });
    }
    if (status.state === "running") this.registering.set(plugin.id, this.register(plugin, status));
    // A crash loop will not end on its own: its record goes now rather than at the end of its lease.
    if (status.state === "failed") void this.deps.registry.remove(NODE, pluginRecordId(plugin.id)).catch(() => undefined);
  }

  private async register(plugin: PluginDetail, status: SupervisorStatus): Promise<void> {
    const manifest = plugin.manifest!;
    const offered = new Set(status.capabilities);
    const agent: AgentRecordMetadata = {
      transport: "plugin",
      source: "plugin",
      skills: manifest.capabilities.filter((capability) => offered.has(capability.name)).map((capability) => ({
        id: capability.name.replace(/[^A-Za-z0-9._-]/g, "-"),
        name: capability.name,
        description: capability.description ?? "",
        capability: capability.name,
        ...(capability.input ? { inputSchema: capability.input } : {}),
        ...(capability.output ? { outputSchema: capability.output } : {}),
        tags: [],
      })),
      limits: AgentLimitsSchema.parse({ maxConcurrentTasks: 16 }),
    };
    try {
      await this.deps.registry.register(NODE, ServiceRegistrationSchema.parse({
        id: pluginRecordId(plugin.id),
        name: manifest.name,
        description: manifest.description ?? "",
        type: "tool",
        capabilities: [...offered],
        tags: ["plugin"],
        visibility: "internal",
        trustLevel: plugin.trust.level,
        version: manifest.version,
        ttl: RECORD_TTL_SECONDS,
        isLocal: true,
        metadata: { [AGENT_METADATA_KEY]: agent, [PLUGIN_METADATA_KEY]: { id: plugin.id, version: manifest.version, trust: plugin.trust.level } },
      }));
    } catch (error) {
      this.deps.logger.warn({ plugin: plugin.id, err: error instanceof Error ? error.message : String(error) }, `plugin ${plugin.id}: its registry record could not be written`);
    }
  }

  /** Keeps the records of running plugins alive; one that is gone (removed, expired) is registered again. */
  private async beat(): Promise<void> {
    for (const [id, { supervisor }] of this.running) {
      if (supervisor.status.state !== "running") continue;
      try {
        await this.deps.registry.heartbeat(NODE, pluginRecordId(id), {});
      } catch {
        await this.register(supervisor.plugin, supervisor.status);
      }
    }
  }

  private async fingerprintOf(plugin: PluginDetail): Promise<string> {
    try {
      const files = await hashPluginFiles(plugin.path);
      return createHash("sha256").update(JSON.stringify(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)))).digest("hex");
    } catch {
      // An unreadable folder cannot be compared: treat it as changed, so the start reports what is wrong.
      return `unreadable:${Date.now()}`;
    }
  }

  private async readEnabled(): Promise<void> {
    const text = await this.deps.settings.getMeta(ENABLED_PLUGINS_KEY);
    const next = new Map<string, EnabledEntry>();
    if (text) {
      const parsed = parseJson(text);
      const entries = parsed.ok ? EnabledSetSchema.safeParse(parsed.value) : undefined;
      if (entries?.success) for (const [id, entry] of Object.entries(entries.data)) next.set(id, entry);
      else this.deps.logger.warn({ key: ENABLED_PLUGINS_KEY }, "the enabled plugins setting is not readable: no plugin is enabled until one is enabled again");
    }
    this.enabled = next;
  }

  private async saveEnabled(id: string): Promise<void> {
    await this.deps.settings.setMeta(ENABLED_PLUGINS_KEY, JSON.stringify(Object.fromEntries(this.enabled)));
    await this.deps.signals?.publish("plugins_changed", { id }).catch((error: unknown) => this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "a plugin change could not be told to the other instances"));
  }
}
