/**
 * @module plugins/runtime/plugin-host
 * The script a plugin's own process runs (plugin-process.ts starts it): loads the plugin's entrypoint and answers the
 * node's `invoke` messages over IPC. It imports nothing but Node's built-ins on purpose: the process may read only
 * this file and the plugin's folder (Node's permission flags), so it cannot load the node's packages, and it is not
 * the trust boundary anyway; the node parses everything this process sends with the protocol's schemas.
 *
 * The entrypoint's default export (or the module itself) is an object of async functions, one per capability, or
 * an object with such a `capabilities` object: `export default { capabilities: { echo: async (input) => input } }`.
 * Each is called as `handler(input, kai)`: `kai` is the plugin's side of the ServiceBus (docs/plugins.md), whose calls
 * the node checks against the plugin's permissions. An optional `health` function is the plugin's health check.
 */
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";

type Handler = (input: unknown, kai: KaiBus) => unknown;
type EventListener = (event: unknown) => void;

/** What a plugin's handlers get to reach the node: every call answered (or refused) by the node. */
interface KaiBus {
  call(method: string, params?: unknown): Promise<unknown>;
  registry: { list(query?: Record<string, unknown>): Promise<unknown> };
  vault: { read(name: string): Promise<unknown> };
  llm: { chat(request: Record<string, unknown>): Promise<unknown> };
  events: { subscribe(listener: EventListener, types?: string[]): Promise<void>; broadcast(topic: string, data: Record<string, unknown>): Promise<void> };
  net: { fetch(url: string, init?: Record<string, unknown>): Promise<unknown> };
  memory: { search(query: Record<string, unknown>): Promise<unknown>; add(memory: Record<string, unknown>): Promise<unknown> };
  invoke(capability: string, input?: unknown): Promise<unknown>;
  agents: { invoke(agent: string, request?: Record<string, unknown>): Promise<unknown> };
}

/** How long a call to the node may take before the plugin gives up on it (the node has its own limits too). */
const CALL_TIMEOUT_MS = 60_000;

const CAPABILITY_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;

const send = (message: Record<string, unknown>): void => {
  process.send?.(message);
};
const describe = (error: unknown): string => String(error instanceof Error ? `${error.name}: ${error.message}` : error).slice(0, 2000);

async function load(folder: string, entrypoint: string): Promise<Record<string, Handler>> {
  const module = (await import(pathToFileURL(join(folder, entrypoint)).href)) as { default?: unknown };
  const exported = (module.default ?? module) as Record<string, unknown>;
  const table = (typeof exported.capabilities === "object" && exported.capabilities !== null ? exported.capabilities : exported) as Record<string, unknown>;
  const handlers: Record<string, Handler> = Object.create(null) as Record<string, Handler>;
  // Only functions named like capabilities (the protocol's CapabilitySchema) are offered; other exports are helpers.
  for (const [name, value] of Object.entries(table)) {
    if (typeof value === "function" && CAPABILITY_NAME.test(name) && Object.keys(handlers).length < 64) handlers[name] = value as Handler;
  }
  return handlers;
}

const pendingCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
const eventListeners: EventListener[] = [];
let nextCallId = 1;

function call(method: string, params: unknown = {}): Promise<unknown> {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingCalls.delete(id);
      reject(new Error(`the node did not answer ${method} within ${CALL_TIMEOUT_MS} ms`));
    }, CALL_TIMEOUT_MS);
    pendingCalls.set(id, { resolve, reject, timer });
    send({ type: "call", id, method, params });
  });
}

const kai: KaiBus = {
  call,
  registry: { list: (query = {}) => call("registry.list", query) },
  vault: { read: (name) => call("vault.read", { name }) },
  llm: { chat: (request) => call("llm.chat", request) },
  events: {
    subscribe: async (listener, types) => {
      await call("events.subscribe", types ? { types } : {});
      eventListeners.push(listener);
    },
    broadcast: async (topic, data) => {
      await call("events.broadcast", { topic, data });
    },
  },
  net: { fetch: (url, init = {}) => call("net.fetch", { ...init, url }) },
  memory: { search: (query) => call("memory.search", query), add: (memory) => call("memory.add", memory) },
  invoke: (capability, input = null) => call("capability.invoke", { capability, input }),
  agents: { invoke: (agent, request = {}) => call("agent.invoke", { ...request, agent }) },
};

/** The node's answer to one of our calls, or an event for our subscribers. */
function onNodeMessage(message: { type?: unknown; id?: unknown; ok?: unknown; output?: unknown; error?: unknown; code?: unknown; event?: unknown }): boolean {
  if (message.type === "event") {
    for (const listener of eventListeners) {
      try {
        listener(message.event);
      } catch {
        // A listener's fault is the plugin's; the other listeners still hear the event.
      }
    }
    return true;
  }
  if (message.type !== "reply" || typeof message.id !== "number") return false;
  const pending = pendingCalls.get(message.id);
  if (!pending) return true;
  pendingCalls.delete(message.id);
  clearTimeout(pending.timer);
  if (message.ok === true) pending.resolve(message.output);
  else pending.reject(Object.assign(new Error(String(message.error)), { code: String(message.code) }));
  return true;
}

async function main(): Promise<void> {
  const [folder, entrypoint] = process.argv.slice(2);
  if (!folder || !entrypoint || !isAbsolute(folder)) {
    send({ type: "failed", error: "the host needs the plugin's absolute folder and its entrypoint" });
    process.exit(2);
  }
  let handlers: Record<string, Handler>;
  try {
    handlers = await load(folder, entrypoint);
  } catch (error) {
    send({ type: "failed", error: `the entrypoint could not be loaded: ${describe(error)}` });
    process.exit(1);
  }
  process.on("message", (message: unknown) => {
    // The node is the only sender; a shape check keeps a bug there from becoming a crash here.
    if (message === null || typeof message !== "object") return;
    if (onNodeMessage(message as Parameters<typeof onNodeMessage>[0])) return;
    const request = message as { type?: unknown; id?: unknown; capability?: unknown; input?: unknown };
    if (request?.type !== "invoke" || typeof request.id !== "number" || typeof request.capability !== "string") return;
    const { id, capability } = request;
    const handler = handlers[capability];
    if (!handler) {
      send({ type: "result", id, ok: false, error: `the plugin has no capability ${capability}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.input, kai))
      .then(
        (output) => send({ type: "result", id, ok: true, output: output ?? null }),
        (error: unknown) => send({ type: "result", id, ok: false, error: describe(error) }),
      );
  });
  // The node went away (or closed the channel to stop this plugin): nothing left to serve.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", capabilities: Object.keys(handlers) });
}

void main();
