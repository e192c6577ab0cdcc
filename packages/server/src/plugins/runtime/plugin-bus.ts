/**
 * @module plugins/runtime/plugin-bus
 * The node's side of the ServiceBus (issue 18, docs/plugins.md "ServiceBus"): a plugin's calls to the node. Every
 * call is parsed with its method's schema, checked against the plugin's permissions, recorded in the security log
 * (type `plugin.call`, allowed or refused, with the method and what it named; never a secret's value or a request
 * body) and only then run, as a principal that holds nothing but what the permission grants:
 * - `registry.list` (registry_read): records visible to any signed-in caller (public and internal);
 * - `vault.read` (vault_read:<name or pattern>): one secret, read with the permission's patterns as the limit, so the
 *   vault itself refuses any other name as well;
 * - `llm.chat` (llm_access): a chat completion through the node's gateway (its strategies, retries and limits);
 * - `events.subscribe` (events_subscribe): the node's non-task events, pushed to the plugin as they happen;
 * - `events.broadcast` (no permission; the process's call rate bounds it): a USER_NOTIFICATION to admins;
 * - `net.fetch` (network:<host>[:<port>]): an HTTP request the node makes for the plugin, only to a host a permission
 *   names (`*.example.com`: its subdomains), redirects not followed (a redirect elsewhere is the plugin's next call,
 *   checked again), the answer capped at 4 MiB. Plugins have no network of their own (system plugins aside), so this
 *   is how `network:<host>` is narrowed to its host;
 * - `memory.search` / `memory.add` (memory_read / memory_write): semantic memory as the plugin's own owner
 *   (`plugin:<id>`), so a plugin sees only the namespaces it wrote, never a user's;
 * - `capability.invoke` (invoke:<capability>): a capability another plugin provides, through the plugin runtime (its
 *   input checked against that plugin's schema); a plugin may not invoke its own (a loop), and the depth is one;
 * - `agent.invoke` (agent_invoke:<agent id or kClass:*>): a one-step task for one agent through kCore, owned by
 *   `plugin:<id>` with only `tasks:run`, restricted to that agent, its deadline a little past the call's timeout; the
 *   call answers the step's output once the task ends (its events on the node's bus, and a slow poll of the task in
 *   case an event is lost), and on timeout cancels the task and answers `upstream_timeout`. When the calling process
 *   ends meanwhile (it crashed, exited, hit a limit or was stopped: the supervisor closes its session), the task is
 *   canceled at once rather than left running for nobody until the timeout. Never granted to an
 *   unverified plugin: an agent may spend money (models) and act on the world for it;
 * - REGISTRY_CHANGE on `events.subscribe` (with registry_read too): this instance's registry changes (its change feed,
 *   as `/api/events` gets them), only of records any signed-in caller may see; the feed is listened to only while
 *   some plugin wants them, so a bulk load with no plugin listening builds no event.
 * The plugin's own rate and queue limits are enforced by its process (plugin-process.ts): a flood stops it.
 */
import {
  ChatCompletionRequestSchema,
  CreateTaskRequestSchema,
  TERMINAL_TASK_STATES,
  type Task,
  ListServicesQuerySchema,
  PluginBusMethodSchema,
  PluginBusParamsSchemas,
  splitPluginPermission,
  type BusEvent,
  type PluginBusMethod,
  type PluginPermission,
  type PluginTrustLevel,
  type SearchMemoryParams,
  type SearchMemoryResponse,
  type AddMemoryRequestSchema,
  type Scope,
} from "@kai/protocol";
import type { z } from "zod";
import type { Principal } from "../../auth/principal.js";
import type { SecurityEventInput } from "../../auth/security-log.js";
import { ApiError } from "../../errors.js";
import type { GatewayPort } from "../../http/front-doors/gateway-port.js";
import type { RegistryService } from "../../registry/registry-service.js";
import { nameAllowed } from "../../vault/secret-patterns.js";
import type { VaultActor } from "../../vault/vault.js";
import { systemEvent } from "../../bus/publishers/system-event.js";
import type { EventBus } from "../../bus/event-bus.js";
import type { ChangeFeed } from "../../registry/change-feed.js";
import { registryChangeEvent } from "../../bus/registry-change-events.js";
import { canSee } from "../../storage/contracts/viewer.js";
import type { TaskEngine } from "../../agents/kcore/task-engine.js";
import type { PluginCallHandler } from "./plugin-process.js";

/** What the bus needs of semantic memory (memory/memory-service.ts). */
export interface PluginMemoryPort {
  add(request: z.output<typeof AddMemoryRequestSchema>, principal: Principal): Promise<{ memory: { id: string }; created: boolean }>;
  search(query: SearchMemoryParams, filter: Readonly<Record<string, string>>, principal: Principal): Promise<SearchMemoryResponse>;
}

/** What the bus needs of the plugin runtime: calling another plugin's capability. */
export interface PluginCapabilityInvoker {
  providerOf(capability: string): string | undefined;
  invoke(capability: string, input: unknown, options: { pluginId?: string }): Promise<{ pluginId: string; output: unknown }>;
}

export interface PluginBusDeps {
  registry: Pick<RegistryService, "list">;
  vault: { getSecret(name: string, actor: VaultActor): Promise<{ value: string }> };
  gateway: Pick<GatewayPort, "route">;
  /** The node's event bus; bound late (it opens with the agent mesh, after the plugins). */
  bus: () => Pick<EventBus, "publish" | "subscribe"> | undefined;
  audit: { recordLater(input: SecurityEventInput): void };
  /** Semantic memory (absent: memory.* calls answer `unavailable`). */
  memory?: PluginMemoryPort;
  /** The plugin runtime, bound late (it is built with this bus). */
  capabilities?: () => PluginCapabilityInvoker | undefined;
  /** kCore (absent: agent.invoke answers `unavailable`). */
  tasks?: () => Pick<TaskEngine, "create" | "get" | "cancel"> | undefined;
  /** This instance's registry change feed: REGISTRY_CHANGE for subscribed plugins holding registry_read (absent: none). */
  feed?: Pick<ChangeFeed, "subscribe">;
}

/** How often a plugin's agent.invoke reads its task while it waits (the task's bus events usually answer sooner), ms. */
const TASK_POLL_MS = 1_000;
/** kCore's deadline for such a task is the call's timeout plus this, ms. */
const TASK_DEADLINE_GRACE_MS = 5_000;

/** The plugin a call comes from: its id, what its manifest asks for, and how far the node trusts it. */
export interface PluginCaller {
  id: string;
  permissions: readonly PluginPermission[];
  trust: PluginTrustLevel;
}

/**
 * What an unverified plugin may use of what it asks for: nothing that reaches a secret, a model (which costs money
 * and sees prompts), the network or an agent (`agent_invoke:`: an agent may call models and act on the world for
 * whoever hands it a task). Sensitive services are for signed (`trusted`) and shipped (`system`) plugins.
 */
const UNVERIFIED_PERMISSIONS = new Set<string>(["registry_read", "events_subscribe", "audio_output"]);

/** The permissions a plugin holds: its manifest's, narrowed for an unverified plugin. */
export function grantedPermissions(plugin: Pick<PluginCaller, "permissions" | "trust">): PluginPermission[] {
  return plugin.trust === "unverified" ? plugin.permissions.filter((permission) => UNVERIFIED_PERMISSIONS.has(permission)) : [...plugin.permissions];
}

/** What one plugin's process gets: its call handler, and a way to end it when the process ends (its subscriptions dropped, its waiting calls given up). */
export interface PluginBusSession {
  handle: PluginCallHandler;
  close(): void;
}

const NEVER = Number.MAX_SAFE_INTEGER;

/** The plugin as a principal holding only `scopes` (its owner names it in logs and registry answers). */
function principalOf(plugin: PluginCaller, scopes: readonly Scope[]): Principal {
  return { tokenId: `plugin:${plugin.id}`, owner: `plugin:${plugin.id}`, scopes, expiresAt: NEVER };
}

/** The `vault_read:` patterns a plugin holds (each a name or a pattern in the vault's own syntax). */
function vaultPatterns(plugin: PluginCaller): string[] {
  return plugin.permissions.map(splitPluginPermission).filter((permission) => permission.kind === "vault_read" && permission.argument !== undefined).map((permission) => permission.argument!);
}

export class PluginBus {
  /** Plugins' listeners for registry changes; the feed is listened to only while there is one. */
  private readonly registryListeners = new Set<(event: BusEvent) => void>();
  private offFeed: (() => void) | null = null;

  constructor(private readonly deps: PluginBusDeps) {}

  /** Adds a plugin's REGISTRY_CHANGE listener (the first one starts listening to the feed); returns its removal. */
  private listenToRegistry(listener: (event: BusEvent) => void): () => void {
    const feed = this.deps.feed;
    if (!feed) return () => undefined;
    this.registryListeners.add(listener);
    this.offFeed ??= feed.subscribe((change) => {
      if (this.registryListeners.size === 0) return;
      const item = registryChangeEvent(change);
      // What a signed-in caller who is not the record's owner may see (registry.list's rule for a plugin).
      if (!item.record || !canSee({ owner: "", admin: false }, item.record)) return;
      for (const deliver of this.registryListeners) deliver(item.event);
    });
    return () => {
      this.registryListeners.delete(listener);
      if (this.registryListeners.size === 0 && this.offFeed) {
        this.offFeed();
        this.offFeed = null;
      }
    };
  }

  /** A session for one running process of `plugin`; `deliver` hands it the events it subscribed to. */
  open(asked: PluginCaller, deliver: (event: BusEvent) => void): PluginBusSession {
    const plugin: PluginCaller = { ...asked, permissions: grantedPermissions(asked) };
    const unsubscribes: Array<() => void> = [];
    // Aborted when the session closes: the process is gone, so a call still waiting (agent.invoke) has nobody to answer.
    const ended = new AbortController();
    const handle: PluginCallHandler = async (rawMethod, rawParams) => {
      const method = PluginBusMethodSchema.safeParse(rawMethod);
      if (!method.success) {
        this.record(plugin, String(rawMethod).slice(0, 64), "failure", "unknown method");
        throw new ApiError("validation_failed", `the ServiceBus has no method ${JSON.stringify(String(rawMethod).slice(0, 64))}`);
      }
      const params = (PluginBusParamsSchemas[method.data] as z.ZodType).safeParse(rawParams ?? {});
      if (!params.success) {
        this.record(plugin, method.data, "failure", "invalid parameters");
        const issue = params.error.issues[0];
        throw new ApiError("validation_failed", `invalid ${method.data} parameters: ${issue ? `${issue.path.join(".") || "(params)"} ${issue.message}` : "invalid"}`);
      }
      const refusal = this.refusal(plugin, method.data, params.data);
      const target = targetOf(method.data, params.data);
      if (refusal) {
        this.record(plugin, method.data, "failure", refusal, target);
        throw new ApiError("plugin_permission_denied", refusal);
      }
      this.record(plugin, method.data, "success", undefined, target);
      return this.run(plugin, method.data, params.data, deliver, unsubscribes, ended.signal);
    };
    return {
      handle,
      close: () => {
        ended.abort();
        for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
      },
    };
  }

  /** Why `plugin` may not make this call, or null when its permissions allow it. */
  private refusal(plugin: PluginCaller, method: PluginBusMethod, params: unknown): string | null {
    const has = (permission: PluginPermission) => plugin.permissions.includes(permission);
    const unverified = plugin.trust === "unverified" ? " (an unverified plugin is never granted it: sign the plugin with a trusted key)" : "";
    switch (method) {
      case "registry.list":
        return has("registry_read") ? null : "registry.list needs the registry_read permission";
      case "vault.read": {
        const { name } = params as { name: string };
        return nameAllowed(name, vaultPatterns(plugin)) ? null : `vault.read of this secret needs a vault_read permission that names it${unverified}`;
      }
      case "llm.chat":
        return has("llm_access") ? null : `llm.chat needs the llm_access permission${unverified}`;
      case "events.subscribe":
        return has("events_subscribe") ? null : "events.subscribe needs the events_subscribe permission";
      case "events.broadcast":
        return null;
      case "net.fetch": {
        const url = new URL((params as { url: string }).url);
        return networkAllows(plugin.permissions, url) ? null : `net.fetch to ${url.host} needs a network:${url.hostname} permission${unverified}`;
      }
      case "memory.search":
        return has("memory_read") ? null : `memory.search needs the memory_read permission${unverified}`;
      case "memory.add":
        return has("memory_write") ? null : `memory.add needs the memory_write permission${unverified}`;
      case "capability.invoke": {
        const { capability } = params as { capability: string };
        return plugin.permissions.includes(`invoke:${capability}` as PluginPermission) ? null : `capability.invoke of ${capability} needs the invoke:${capability} permission${unverified}`;
      }
      case "agent.invoke": {
        const { agent } = params as { agent: string };
        return agentAllowed(plugin.permissions, agent) ? null : `agent.invoke of ${agent} needs an agent_invoke permission that names it (agent_invoke:${agent} or agent_invoke:${agent.slice(0, agent.indexOf(":"))}:*)${unverified}`;
      }
    }
  }

  private async run(
    plugin: PluginCaller,
    method: PluginBusMethod,
    params: unknown,
    deliver: (event: BusEvent) => void,
    unsubscribes: Array<() => void>,
    ended: AbortSignal,
  ): Promise<unknown> {
    switch (method) {
      case "registry.list": {
        const query = ListServicesQuerySchema.parse(params);
        const page = await this.deps.registry.list(principalOf(plugin, ["services:read"]), query);
        return { services: page.services };
      }
      case "vault.read": {
        const { name } = params as { name: string };
        const secret = await this.deps.vault.getSecret(name, { tokenId: null, owner: `plugin:${plugin.id}`, scopes: ["vault:read"], secretPatterns: vaultPatterns(plugin) });
        return { name, value: secret.value };
      }
      case "llm.chat": {
        const request = ChatCompletionRequestSchema.safeParse(params);
        if (!request.success) throw new ApiError("validation_failed", "llm.chat needs a chat completion request (model, messages)");
        if (request.data.stream === true) throw new ApiError("validation_failed", "llm.chat does not stream");
        // `ended`: a plugin that exits mid-call has nobody to answer; the upstream call is cancelled, not run to its end.
        const result = await this.deps.gateway.route("chat", request.data, { principal: principalOf(plugin, ["gateway:invoke"]), capability: "llm_chat", signal: ended });
        return result.data;
      }
      case "events.subscribe": {
        const bus = this.deps.bus();
        if (!bus) throw new ApiError("unavailable", "the node's event bus is not open yet");
        const { types } = params as { types?: string[] };
        const wanted = new Set<string>(types ?? ["SYSTEM_STATUS", "USER_NOTIFICATION", "CONFIG_UPDATE", "HEARTBEAT", "REGISTRY_CHANGE"]);
        // Registry changes come from the change feed (never over the bus), and only to a plugin that may read the registry.
        const registry = wanted.delete("REGISTRY_CHANGE") && plugin.permissions.includes("registry_read") && this.deps.feed !== undefined;
        // Task events carry owners' work: a plugin never sees them, nor a notification meant for one user.
        if (wanted.size > 0) {
          unsubscribes.push(bus.subscribe((event) => {
            if (event.taskId === undefined && event.owner === undefined && wanted.has(event.type)) deliver(event);
          }));
        }
        if (registry) {
          // Its own listener per subscription (as on the bus): subscribing twice is two listeners, each removed on its own.
          unsubscribes.push(this.listenToRegistry((event) => deliver(event)));
          wanted.add("REGISTRY_CHANGE");
        }
        return { subscribed: [...wanted] };
      }
      case "net.fetch":
        return fetchFor(params as NetFetchParams, ended);
      case "memory.search": {
        const memory = this.deps.memory;
        if (!memory) throw new ApiError("unavailable", "this node has no semantic memory");
        const query = params as { q: string; namespace: string; limit: number; threshold?: number };
        return memory.search(query, {}, principalOf(plugin, ["memory:read"]));
      }
      case "memory.add": {
        const memory = this.deps.memory;
        if (!memory) throw new ApiError("unavailable", "this node has no semantic memory");
        const { memory: stored, created } = await memory.add({ ...(params as z.output<typeof AddMemoryRequestSchema>), relations: [] }, principalOf(plugin, ["memory:write"]));
        return { id: stored.id, created };
      }
      case "capability.invoke": {
        const { capability, input } = params as { capability: string; input: unknown };
        const runtime = this.deps.capabilities?.();
        if (!runtime) throw new ApiError("unavailable", "no plugin runtime");
        const provider = runtime.providerOf(capability);
        if (provider === undefined) throw new ApiError("plugin_unavailable", `no plugin running on this instance offers ${capability}`);
        // A plugin calling itself through the node would hold a call slot per level: refused, not queued.
        if (provider === plugin.id) throw new ApiError("validation_failed", "a plugin may not invoke its own capability through the node");
        return (await runtime.invoke(capability, input ?? null, { pluginId: provider })).output;
      }
      case "agent.invoke":
        return this.invokeAgent(plugin, params as AgentInvokeParams, ended);
      case "events.broadcast": {
        const bus = this.deps.bus();
        if (!bus) throw new ApiError("unavailable", "the node's event bus is not open yet");
        const { topic, data } = params as { topic: string; data: Record<string, unknown> };
        await bus.publish(systemEvent("USER_NOTIFICATION", { kind: "plugin_broadcast", plugin: plugin.id, topic, data }, { agent: `plugin:${plugin.id}` }));
        return { published: true };
      }
    }
  }

  /** A one-step task for one agent as the plugin (nothing but `tasks:run`), awaited until it ends, the timeout, or the process's end (`ended`). */
  private async invokeAgent(plugin: PluginCaller, params: AgentInvokeParams, ended: AbortSignal): Promise<unknown> {
    const tasks = this.deps.tasks?.();
    if (!tasks) throw new ApiError("unavailable", "this node runs no agent mesh");
    if (ended.aborted) throw new ApiError("unavailable", `plugin ${plugin.id} has ended: no task is started for it`);
    const principal = principalOf(plugin, ["tasks:run"]);
    const request = CreateTaskRequestSchema.parse({
      goal: params.goal ?? `plugin ${plugin.id}: ${params.capability ?? params.agent}`,
      input: params.input,
      agent: params.agent,
      ...(params.capability !== undefined ? { capability: params.capability } : {}),
      // Only that agent (never reassigned to another that offers the skill), and kCore's own deadline as a backstop
      // should the cancel below not reach the task (a little later, so that the wait's own timeout speaks first).
      constraints: { agents: [params.agent], deadlineMs: params.timeoutMs + TASK_DEADLINE_GRACE_MS },
    });
    const created = await tasks.create(request, principal);
    const done = await this.awaitTask(tasks, created.id, principal, params.timeoutMs, ended);
    if (done === PROCESS_ENDED) {
      await tasks.cancel(created.id, principal).catch(() => undefined);
      throw new ApiError("unavailable", `plugin ${plugin.id} ended while agent ${params.agent} worked on task ${created.id}; it was canceled`);
    }
    if (!done || done.state === "input-required") {
      await tasks.cancel(created.id, principal).catch(() => undefined);
      if (!done) throw new ApiError("upstream_timeout", `agent ${params.agent} did not finish task ${created.id} within ${params.timeoutMs} ms; it was canceled`);
      throw new ApiError("upstream_error", `agent ${params.agent} asked for input (task ${created.id}), which a plugin cannot give; it was canceled`);
    }
    if (done.state !== "completed") {
      const reason = done.error?.message ?? done.state;
      throw new ApiError("upstream_error", `agent ${params.agent} did not complete task ${created.id}: ${reason}`.slice(0, 1000));
    }
    const step = done.steps[0];
    return { taskId: done.id, agent: step?.assignee ?? params.agent, output: step?.output ?? done.result ?? null };
  }

  /**
   * The task once it ends or asks for input; undefined at the timeout; PROCESS_ENDED when `ended` aborts (the calling
   * process is gone). Its events wake the wait; a poll covers a lost one.
   */
  private awaitTask(tasks: Pick<TaskEngine, "get">, id: string, principal: Principal, timeoutMs: number, ended: AbortSignal): Promise<Task | undefined | typeof PROCESS_ENDED> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (task: Task | undefined | typeof PROCESS_ENDED) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        off?.();
        ended.removeEventListener("abort", onEnded);
        resolve(task);
      };
      const onEnded = () => finish(PROCESS_ENDED);
      const check = () => {
        if (done) return;
        tasks.get(id, principal).then((task) => {
          if (TERMINAL_TASK_STATES.includes(task.state) || task.state === "input-required") finish(task);
        }, () => undefined);
      };
      const off = this.deps.bus()?.subscribe((event) => {
        if (event.taskId === id) check();
      });
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const poll = setInterval(check, TASK_POLL_MS);
      ended.addEventListener("abort", onEnded, { once: true });
      if (ended.aborted) onEnded();
      check();
    });
  }

  private record(plugin: PluginCaller, method: string, outcome: "success" | "failure", reason?: string, target?: string): void {
    this.deps.audit.recordLater({
      type: "plugin.call",
      outcome,
      actor: `plugin:${plugin.id}`,
      details: { plugin: plugin.id, method, ...(target !== undefined ? { target } : {}), ...(reason !== undefined ? { reason } : {}) },
    });
  }
}

/** What an agent.invoke's wait answers when the calling plugin's process ended first. */
const PROCESS_ENDED = Symbol("process ended");

interface AgentInvokeParams {
  agent: string;
  capability?: string;
  input: Record<string, unknown>;
  goal?: string;
  timeoutMs: number;
}

/** True when one of the `agent_invoke:` permissions names the agent, or its class (`kExecutor:*`). */
export function agentAllowed(permissions: readonly PluginPermission[], agent: string): boolean {
  const agentClass = agent.slice(0, agent.indexOf(":"));
  return permissions.map(splitPluginPermission).some(({ kind, argument }) => kind === "agent_invoke" && (argument === agent || argument === `${agentClass}:*`));
}

interface NetFetchParams {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** The most of an answer's body handed to a plugin; the rest is cut (`truncated`). */
const MAX_FETCH_BYTES = 4 * 1024 * 1024;

/** True when one of the `network:` permissions names the URL's host (and its port, when the permission has one). */
export function networkAllows(permissions: readonly PluginPermission[], url: URL): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return permissions.map(splitPluginPermission).some(({ kind, argument }) => {
    if (kind !== "network" || argument === undefined) return false;
    const colon = argument.lastIndexOf(":");
    const [allowedHost, allowedPort] = colon > 0 ? [argument.slice(0, colon), argument.slice(colon + 1)] : [argument, undefined];
    if (allowedPort !== undefined && allowedPort !== port) return false;
    return allowedHost.startsWith("*.") ? host.endsWith(allowedHost.slice(1)) && host.length > allowedHost.length - 1 : host === allowedHost;
  });
}

/** What a failed net.fetch answers: the plugin's end, its deadline (`timedOut`), or the host (`broken`). */
function fetchFailure(error: unknown, ended: AbortSignal, timedOut: string, broken: string): ApiError {
  if (ended.aborted) return new ApiError("unavailable", "net.fetch: the calling plugin has ended");
  const reason = error instanceof Error && error.name === "TimeoutError" ? timedOut : broken;
  return new ApiError("upstream_unreachable", `net.fetch: ${reason}`);
}

/**
 * The node's HTTP request for a plugin: no redirects followed, a deadline, the body read up to the cap. `ended`
 * aborts it when the plugin's process ends first (the request and its connection are closed at once).
 */
async function fetchFor(params: NetFetchParams, ended: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(params.url, {
      method: params.method,
      headers: params.headers,
      ...(params.body !== undefined && params.method !== "GET" && params.method !== "HEAD" ? { body: params.body } : {}),
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(params.timeoutMs), ended]),
    });
  } catch (error) {
    throw fetchFailure(error, ended, `no answer within ${params.timeoutMs} ms`, "the host could not be reached");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  if (response.body) {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const room = MAX_FETCH_BYTES - size;
        if (chunk.byteLength > room) {
          chunks.push(Buffer.from(chunk.subarray(0, room)));
          truncated = true;
          break;
        }
        chunks.push(Buffer.from(chunk));
        size += chunk.byteLength;
      }
    } catch (error) {
      // The deadline or the plugin's end cut the body short (or the host broke the connection mid-body).
      throw fetchFailure(error, ended, `the body did not arrive within ${params.timeoutMs} ms`, "the host broke off the answer");
    }
  }
  const bytes = Buffer.concat(chunks);
  const type = response.headers.get("content-type") ?? "";
  const text = /^text\/|json|xml|javascript|x-www-form-urlencoded/i.test(type) || type === "";
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: text ? bytes.toString("utf8") : bytes.toString("base64"),
    encoding: text ? "utf8" : "base64",
    truncated,
  };
}

/** What a call names, for the security log: a secret's name, a model, a topic, a host (never a value, a message or a path). */
function targetOf(method: PluginBusMethod, params: unknown): string | undefined {
  const value = params as Record<string, unknown>;
  if (method === "net.fetch") return new URL(String(value.url)).host;
  if (method === "capability.invoke") return String(value.capability);
  if (method === "agent.invoke") return `${String(value.agent)}${typeof value.capability === "string" ? ` ${value.capability}` : ""}`;
  if (method === "memory.search" || method === "memory.add") return String(value.namespace);
  if (method === "vault.read") return String(value.name);
  if (method === "llm.chat" && typeof value.model === "string") return value.model.slice(0, 200);
  if (method === "events.broadcast") return String(value.topic);
  return undefined;
}
