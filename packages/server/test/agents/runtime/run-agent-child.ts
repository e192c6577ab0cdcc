/**
 * A KLP agent as the node runs it (agents/runtime/): built with the SDK's agent runtime (`@kai/sdk/agent`, from
 * source through tsx), it learns everything from what the node gives a run-agent: `KAI_URL`, `KAI_TOKEN` and
 * `KAI_AGENT_ID` in its environment, its capabilities as arguments, its key file in its working directory.
 * `AGENT_GREETING` comes from a vault secret named in the spec. It prints what it does, one JSON per line (the
 * node logs its output with the agent's id), never its token. The capability `crash` makes it exit with 3.
 */
import { createClient } from "@kai/sdk";
import { createKlpAgent, type KlpStepContext } from "../../../../sdk/src/agent-runtime/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const id = env("KAI_AGENT_ID");
const skills = process.argv.slice(2);
const client = createClient({ url: env("KAI_URL"), token: env("KAI_TOKEN") });
const greeting = process.env.AGENT_GREETING ?? "";

const agent = createKlpAgent({
  client,
  keyFile: "agent-key.json",
  manifest: {
    id,
    name: id,
    skills: skills.map((capability) => ({ id: capability, name: capability, capability })),
    limits: { maxConcurrentTasks: 4, stepTimeoutMs: 20_000 },
    ttl: 60,
  },
  handlers: Object.fromEntries(
    skills.map((capability) => [
      capability,
      async (input: Record<string, unknown>, context: KlpStepContext) => {
        say({ event: "step", capability, taskId: context.taskId, pid: process.pid });
        if (capability === "crash") process.exit(3);
        return { by: id, pid: process.pid, greeting, input };
      },
    ]),
  ),
  onError: (error) => say({ event: "error", message: error instanceof Error ? error.message : String(error) }),
});

await agent.start();
say({ event: "ready", pid: process.pid, did: agent.did, envKeys: Object.keys(process.env).sort() });
const stop = () => {
  say({ event: "stopping", pid: process.pid });
  void agent.stop({ deregister: false }).finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
