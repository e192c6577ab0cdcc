/**
 * A KLP agent process that uses the node's semantic memory over KLP (`@kai/sdk/agent`'s createKlpMemory, from
 * source): its steps `remember` (`{key, text, namespace?, wrapped?}` → memory_write; `wrapped`: the value as `{text}`) and `recall` (`{query?, key?, id?,
 * namespace?}` → memory_read) answer with what the node said, a refusal included (`{refused: code}`), so a test sees
 * both through the task API. Environment: KAI_URL, KAI_TOKEN, AGENT_ID, AGENT_KEY_FILE. Stdout: `ready` (did, url).
 */
import { createClient } from "@kai/sdk";
import { klp } from "@kai/protocol";
import { createKlpAgent, createKlpMemory, loadOrCreateAgentKey } from "../../../../sdk/src/agent-runtime/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const id = env("AGENT_ID");
const keyFile = env("AGENT_KEY_FILE");
const client = createClient({ url: env("KAI_URL"), token: env("KAI_TOKEN") });
/** Made once the agent has pinned its node (the handlers run only after that). */
const late: { memory?: ReturnType<typeof createKlpMemory> } = {};

/** The node's answer, or its refusal as data (the step still succeeds: the test reads the code from the result). */
async function refusalAsData<T>(run: () => Promise<T>): Promise<T | { refused: string; message: string }> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof klp.KlpError) return { refused: error.code, message: error.message };
    throw error;
  }
}

const agent = createKlpAgent({
  client,
  keyFile,
  manifest: {
    id,
    name: id,
    skills: [
      { id: "remember", name: "Remember", capability: "remember" },
      { id: "recall", name: "Recall", capability: "recall" },
    ],
    limits: { maxConcurrentTasks: 4, stepTimeoutMs: 20_000 },
    ttl: 60,
  },
  handlers: {
    remember: (input) =>
      refusalAsData(() =>
        late.memory!.write({ key: String(input.key), value: input.wrapped === true ? { text: String(input.text) } : String(input.text), ...(typeof input.namespace === "string" ? { namespace: input.namespace } : {}) }),
      ),
    recall: (input) => refusalAsData(() => late.memory!.read(input as klp.KlpPayload<"memory_read">)),
  },
  onError: (error) => say({ event: "error", message: error instanceof Error ? error.message : String(error) }),
});

const record = await agent.start();
late.memory = createKlpMemory({ nodeUrl: client.url, key: await loadOrCreateAgentKey(keyFile), nodeDid: agent.nodeDid! });
say({ event: "ready", did: agent.did, url: agent.url, record: record.id });
const stop = () => void agent.stop({ deregister: false }).finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
