/**
 * @module plugins/runtime/plugin-host
 * The script a plugin's own process runs (plugin-process.ts starts it): loads the plugin's entrypoint and answers the
 * node's `invoke` messages over IPC. It imports nothing but Node's built-ins on purpose: the process may read only
 * this file and the plugin's folder (Node's permission flags), so it cannot load the node's packages, and it is not
 * the trust boundary anyway; the node parses everything this process sends with the protocol's schemas.
 *
 * The entrypoint's default export (or the module itself) is an object of async functions, one per capability, or
 * an object with such a `capabilities` object: `export default { capabilities: { echo: async (input) => input } }`.
 */
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";

type Handler = (input: unknown) => unknown;

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
    const request = message as { type?: unknown; id?: unknown; capability?: unknown; input?: unknown };
    if (request?.type !== "invoke" || typeof request.id !== "number" || typeof request.capability !== "string") return;
    const { id, capability } = request;
    const handler = handlers[capability];
    if (!handler) {
      send({ type: "result", id, ok: false, error: `the plugin has no capability ${capability}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request.input))
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
