/**
 * A KLP agent as its own process, built with the SDK's agent runtime (`@kai/sdk/agent`, here from source): the
 * tests start it with `agent-process.ts`. Configured by environment (KAI_URL, KAI_TOKEN, AGENT_ID, AGENT_SKILLS a
 * JSON list of capabilities, AGENT_BEHAVIOUR `echo` | `hang`; the capability `wait_for_cancel` always hangs, AGENT_KEY_FILE). It reports on stdout, one JSON per
 * line: `ready` (did, url), `step` when a handler starts, `refused` for each refused message, `aborted`.
 */
import { createClient } from "@kai/sdk";
import { createKlpAgent } from "../../../../sdk/src/agent-runtime/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const id = env("AGENT_ID");
const skills = JSON.parse(env("AGENT_SKILLS")) as string[];
const behaviour = process.env.AGENT_BEHAVIOUR ?? "echo";
const client = createClient({ url: env("KAI_URL"), token: env("KAI_TOKEN") });

const handler = async (input: Record<string, unknown>, context: Parameters<Parameters<typeof createKlpAgent>[0]["handlers"][string]>[1]) => {
  say({ event: "step", capability: context.capability, taskId: context.taskId, stepId: context.stepId });
  context.progress({ progress: 0.5, detail: `${id} is on it` });
  if (behaviour === "hang" || context.capability === "wait_for_cancel") {
    await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
    say({ event: "aborted", taskId: context.taskId, reason: (context.signal.reason as Error | undefined)?.message });
    throw new Error("aborted");
  }
  if (context.capability === "text_combine") return { summary: `${String(input.page)} + ${String(input.chat)}`, by: id };
  if (context.capability === "web_fetch") return { text: `page at ${String(input.url)}`, by: id };
  return { by: id, input };
};

const agent = createKlpAgent({
  client,
  keyFile: env("AGENT_KEY_FILE"),
  manifest: {
    id,
    name: id,
    skills: skills.map((capability) => ({ id: capability.replace(/[^A-Za-z0-9._-]/g, "-"), name: capability, capability })),
    limits: { maxConcurrentTasks: 4, stepTimeoutMs: 20_000 },
    ttl: 60,
  },
  handlers: Object.fromEntries(skills.map((capability) => [capability, handler])),
  onRefused: (refusal) => say({ event: "refused", code: refusal.code }),
  onError: (error) => say({ event: "error", message: error instanceof Error ? error.message : String(error) }),
});

const record = await agent.start();
say({ event: "ready", did: agent.did, url: agent.url, nodeDid: agent.nodeDid, record: record.id });
const stop = () => void agent.stop({ deregister: false }).finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
