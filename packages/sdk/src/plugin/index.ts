/**
 * @module plugin
 * `@kai/sdk/plugin`: the types of a kAI plugin's entrypoint (docs/contributing/write-a-plugin.md). Types only, on
 * purpose: a plugin's process may read nothing outside its own folder (plugins/runtime in the server), so it cannot
 * load this package at run time. Use it from TypeScript (`import type`) or from JavaScript with a JSDoc annotation:
 *
 * ```js
 * // main.mjs
 * /** @type {import("@kai/sdk/plugin").PluginModule} *\/
 * export default { capabilities: { hello: async ({ name }, kai) => ({ greeting: `hello, ${name}` }) } };
 * ```
 */
import type { BusEvent, ChatCompletion, ChatCompletionRequest, ServiceRecord } from "@kai/protocol";

/** Why the node refused or failed a call: `code` is the node's error code (`plugin_permission_denied`, …). */
export interface PluginCallError extends Error {
  code: string;
}

/**
 * The plugin's side of the ServiceBus: every call goes to the node, which checks it against the plugin's permissions
 * (and records it in its security log) before it runs. A refused call rejects with a `PluginCallError`.
 */
export interface KaiBus {
  /** Any ServiceBus method by name (`registry.list`, `vault.read`, `llm.chat`, `events.subscribe`, `events.broadcast`, `net.fetch`, `memory.search`, `memory.add`, `capability.invoke`, `agent.invoke`). */
  call(method: string, params?: unknown): Promise<unknown>;
  registry: {
    /** Needs `registry_read`: the records any signed-in caller may see. */
    list(query?: { capability?: string; type?: string; limit?: number }): Promise<{ services: ServiceRecord[] }>;
  };
  vault: {
    /** Needs a `vault_read:<name or pattern>` naming the secret (never granted to an unverified plugin). */
    read(name: string): Promise<{ name: string; value: string }>;
  };
  llm: {
    /** Needs `llm_access`: a chat completion through the node's gateway (not streamed). */
    chat(request: ChatCompletionRequest): Promise<ChatCompletion>;
  };
  events: {
    /** Needs `events_subscribe`: the node's events that carry no task and no owner. */
    subscribe(listener: (event: BusEvent) => void, types?: string[]): Promise<void>;
    /** A notification on the node's bus (`USER_NOTIFICATION`, `kind: plugin_broadcast`); at most 16 KiB of data. */
    broadcast(topic: string, data: Record<string, unknown>): Promise<void>;
  };
  memory: {
    /** Needs `memory_read`: nearest memories in one of the plugin's own namespaces (its memories, never a user's). */
    search(query: { q: string; namespace?: string; limit?: number; threshold?: number }): Promise<{ results: Array<{ memory: { id: string; text: string }; score: number }> }>;
    /** Needs `memory_write`: stores a memory in one of the plugin's own namespaces (embedded by the node). */
    add(memory: { text: string; namespace?: string; metadata?: Record<string, string | number | boolean>; ttlSeconds?: number }): Promise<{ id: string; created: boolean }>;
  };
  /** Needs `invoke:<capability>`: calls a capability another plugin provides (never the plugin's own). */
  invoke(capability: string, input?: unknown): Promise<unknown>;
  agents: {
    /**
     * Needs `agent_invoke:<agent id>` (or `agent_invoke:<kClass>:*`; never granted to an unverified plugin): a one-step
     * task for that agent through kCore, owned by `plugin:<id>`; answers once it completes, with the step's output.
     * Rejects with `upstream_timeout` past `timeoutMs` (default 30 s, at most 55 s; the task is then canceled) and
     * `upstream_error` when the agent fails the task or asks for input.
     */
    invoke(agent: string, request?: { capability?: string; input?: Record<string, unknown>; goal?: string; timeoutMs?: number }): Promise<{ taskId: string; agent: string; output: unknown }>;
  };
  net: {
    /**
     * Needs a `network:<host>` naming the URL's host (never granted to an unverified plugin): the node makes the request
     * (redirects not followed; the body cut at 4 MiB, `truncated` says so; binary bodies in base64).
     */
    fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<{ status: number; headers: Record<string, string>; body: string; encoding: "utf8" | "base64"; truncated: boolean }>;
  };
}

/** One capability: its input as the caller sent it (already checked against the manifest's input schema), its answer as JSON. */
export type PluginHandler<Input = unknown, Output = unknown> = (input: Input, kai: KaiBus) => Output | Promise<Output>;

/**
 * What the entrypoint exports (default export, or the module itself): one function per capability declared in
 * `plugin.yaml` (names as in the manifest), optionally under `capabilities`. A function named `health` is the plugin's
 * health check (answer `{ok: false}` or throw when the plugin cannot work: an update whose new version fails it is
 * rolled back); it is never routed to callers unless the manifest declares it.
 */
export type PluginModule = { capabilities: Record<string, PluginHandler> } | Record<string, PluginHandler>;
