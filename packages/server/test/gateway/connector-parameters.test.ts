// Every parameter a connector declares (connectors/<provider>/parameters.ts, published by GET /api/connectors) really
// reaches its provider: for each connector, operation and declared parameter, one call with the parameter set goes
// to the provider's fake, and the value must show up in the upstream request where the same call without it has no
// such value. The few parameters a connector applies itself (the answer's encoding) are checked on the answer. The
// table is the declarations themselves, so a parameter declared later is proved here too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectorOperation, OperationParameters } from "@kai/protocol";
import type { CallContext, Connector } from "../../src/gateway/connector.js";
import { connectors } from "../../src/gateway/connectors/index.js";
import { describeConnector } from "../../src/gateway/connectors/catalog.js";
import { ANTHROPIC_MODEL, startAnthropicFake } from "./fakes/anthropic-fake.js";
import { startA1111Fake } from "./fakes/a1111-fake.js";
import { startComfyFake } from "./fakes/comfyui-fake.js";
import type { FakeUpstream, RecordedRequest } from "./fakes/fake-server.js";
import { OLLAMA_MODEL, startOllamaFake } from "./fakes/ollama-fake.js";
import { OPENAI_MODEL, startOpenAIFake } from "./fakes/openai-fake.js";
import { WHISPER_MODEL, startWhisperFake } from "./fakes/whisper-fake.js";

const AUDIO = Buffer.from("RIFF\u0000\u0000\u0000\u0000WAVEfmt fake audio bytes");
const IMAGE = Buffer.from("PNG:source").toString("base64");

/** The fake each connector talks to, and the model to name. */
const FAKES: Record<string, { start(): Promise<FakeUpstream>; model?: string }> = {
  openai: { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  "openai-compatible": { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  lmstudio: { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  vllm: { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  "llama-cpp": { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  "open-webui": { start: () => startOpenAIFake(), model: OPENAI_MODEL },
  ollama: { start: () => startOllamaFake(), model: OLLAMA_MODEL },
  anthropic: { start: () => startAnthropicFake(), model: ANTHROPIC_MODEL },
  a1111: { start: () => startA1111Fake() },
  comfyui: { start: async () => (await startComfyFake()).fake },
  whisper: { start: async () => (await startWhisperFake()).fake, model: WHISPER_MODEL },
};

/** Parameters a connector applies to the answer itself (the provider has no such field): how the answer shows it. */
const APPLIED_TO_ANSWER: Record<string, Record<string, (answer: unknown) => boolean>> = {
  a1111: { response_format: (answer) => dataUrlImage(answer) },
  comfyui: { response_format: (answer) => dataUrlImage(answer) },
  ollama: { encoding_format: (answer) => typeof (answer as { data: { embedding: unknown }[] }).data[0]?.embedding === "string" },
};

function dataUrlImage(answer: unknown): boolean {
  return (answer as { data: { url?: string }[] }).data[0]?.url?.startsWith("data:image/") === true;
}

/** A value to send for a parameter, from its published JSON Schema (names with a format of their own first). */
function sampleOf(name: string, schema: Record<string, unknown>): unknown {
  if (name === "size") return "640x384";
  if (name === "response_format" && Array.isArray(schema.enum) && schema.enum.includes("url")) return "url";
  if (name === "encoding_format") return "base64";
  const flat = (variant: Record<string, unknown>): Record<string, unknown>[] => (Array.isArray(variant.anyOf) ? (variant.anyOf as Record<string, unknown>[]).flatMap(flat) : [variant]);
  const first = flat(schema).find((variant) => variant.type !== "null") ?? {};
  if (Array.isArray(first.enum)) return first.enum.at(-1);
  switch (first.type) {
    case "integer":
      return 7;
    case "number":
      return 0.37;
    case "string":
      return `probe-${name}`;
    case "array":
      return [sampleOf(name, first.items as Record<string, unknown>)];
    default:
      throw new Error(`no sample for ${name}: ${JSON.stringify(schema)}`);
  }
}

/** The plain values that must appear in the upstream request for `sample`; any one of the alternatives will do. */
function expectedValues(name: string, sample: unknown): string[][] {
  // A size goes over as it is (OpenAI) or as width and height (Stable Diffusion).
  if (name === "size") return [[String(sample)], ["640", "384"]];
  return [(Array.isArray(sample) ? sample : [sample]).map(String)];
}

/** Every leaf of the upstream request as "path=value" (multipart fields for bodies that are not JSON). */
async function leaves(request: RecordedRequest): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
    } else out.set(path, String(value));
  };
  if (request.body !== undefined) walk(request.body, "");
  else {
    const form = await new Response(request.raw, { headers: { "content-type": String(request.headers["content-type"]) } }).formData();
    let index = 0;
    for (const [key, value] of form) if (typeof value === "string") out.set(`${key}#${index++}`, value);
  }
  return out;
}

/** Calls one operation with `params` added to a minimal request; the answer. */
async function call(connector: Connector, operation: ConnectorOperation, model: string | undefined, params: Record<string, unknown>, context: CallContext): Promise<unknown> {
  const named = model ? { model } : {};
  switch (operation) {
    case "chat":
      return (await connector.chat!({ model: model!, messages: [{ role: "user", content: "hi" }], ...params }, context)).data;
    case "chat_stream": {
      const stream = await connector.chatStream!({ model: model!, messages: [{ role: "user", content: "hi" }], ...params }, context);
      for await (const chunk of stream) void chunk;
      return undefined;
    }
    case "completions":
      return (await connector.completions!({ model: model!, prompt: "Say", ...params }, context)).data;
    case "embeddings":
      return (await connector.embeddings!({ model: model!, input: "hi", ...params }, context)).data;
    case "images":
      return (await connector.images!({ prompt: "a lighthouse", ...named, ...params }, context)).data;
    case "images_edit":
      return (await connector.imagesEdit!({ prompt: "a lighthouse", image: IMAGE, ...named, ...params }, context)).data;
    case "transcriptions":
      return (await connector.transcriptions!({ file: AUDIO, model: model!, ...params }, context)).data;
    default:
      throw new Error(`no call for ${operation}`);
  }
}

/** The last request that carried a body: the call itself (model checks and polls before and after are GETs). */
function lastPost(fake: FakeUpstream): RecordedRequest {
  const found = [...fake.requests].reverse().find((request) => request.method === "POST");
  if (!found) throw new Error("the connector sent nothing");
  return found;
}

const cases = [...connectors.values()].flatMap((connector) =>
  describeConnector(connector).operations.flatMap(({ operation, parameters }) => (parameters ? [{ connector, operation, parameters }] : [])),
);

describe("connector parameter declarations", () => {
  it("declare only operations the connector offers, and every chat connector declares its chat parameters", () => {
    for (const connector of connectors.values()) {
      for (const operation of Object.keys(connector.parameters)) expect(connector.operations.has(operation as ConnectorOperation), `${connector.id}: ${operation}`).toBe(true);
      if (connector.operations.has("chat")) expect(Object.keys(connector.parameters.chat?.shape ?? {}).length, connector.id).toBeGreaterThan(0);
    }
  });

  it("name what each provider really takes: Ollama top_k but no user, Anthropic top_k but no seed, OpenAI seed and user", () => {
    const chatOf = (id: string) => Object.keys(describeConnector(connectors.get(id)!).operations.find((entry) => entry.operation === "chat")?.parameters?.properties ?? {});
    expect(chatOf("ollama")).toContain("top_k");
    expect(chatOf("ollama")).not.toContain("user");
    expect(chatOf("anthropic")).toEqual(expect.arrayContaining(["top_k", "user", "stop"]));
    expect(chatOf("anthropic")).not.toContain("seed");
    expect(chatOf("openai")).toEqual(expect.arrayContaining(["seed", "user", "temperature", "frequency_penalty"]));
  });

  it("has a fake for every connector that declares parameters", () => {
    for (const { connector } of cases) expect(FAKES[connector.id], connector.id).toBeDefined();
  });
});

describe.each(cases)("$connector.id $operation", ({ connector, operation, parameters }: { connector: Connector; operation: ConnectorOperation; parameters: OperationParameters }) => {
  let fake: FakeUpstream;
  let context: CallContext;
  let baseline: Map<string, string>;
  const model = FAKES[connector.id]?.model;
  beforeAll(async () => {
    fake = await FAKES[connector.id]!.start();
    context = { target: { baseUrl: fake.url } };
    await call(connector, operation, model, {}, context);
    baseline = await leaves(lastPost(fake));
  });
  afterAll(async () => {
    await fake?.close();
  });

  it.each(Object.entries(parameters.properties))("%s reaches the provider", async (name, schema) => {
    const sample = sampleOf(name, schema);
    const answer = await call(connector, operation, model, { [name]: sample }, context);
    const applied = APPLIED_TO_ANSWER[connector.id]?.[name];
    if (applied) {
      expect(applied(answer), `${connector.id} applies ${name} to its answer`).toBe(true);
      return;
    }
    const sent = await leaves(lastPost(fake));
    // A value counts where it is new: at a place the call without the parameter did not have it.
    const carried = (value: string) => [...sent].some(([path, leaf]) => leaf === value && baseline.get(path) !== value);
    const found = expectedValues(name, sample).some((values) => values.every(carried));
    expect(found, `${name}=${JSON.stringify(sample)} in ${JSON.stringify(Object.fromEntries(sent))}`).toBe(true);
  });
});
