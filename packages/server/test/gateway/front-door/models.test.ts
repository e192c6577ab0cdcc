/**
 * Models through the OpenAI front door with the official client: a model no service serves is 404
 * `model_not_found` naming the model (never an unrelated service's failure, such as a credential it lacks),
 * `models.retrieve` answers OpenAI's model object for every id `models.list` gives and 404 for others, and a chat
 * request without a model is routed by capability alone.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { ANSWER, type FakeUpstream } from "../fakes/fake-server.js";
import { OLLAMA_MODEL, startOllamaFake } from "../fakes/ollama-fake.js";
import { OPENAI_MODEL, startOpenAIFake } from "../fakes/openai-fake.js";

let server: TestServer;
let client: OpenAI;
let ollama: FakeUpstream;
let cloud: FakeUpstream;

beforeAll(async () => {
  [ollama, cloud] = await Promise.all([startOllamaFake(), startOpenAIFake({ requireKey: "sk-cloud" })]);
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const register = async (body: Record<string, unknown>) => expect((await server.request("/api/services/register", { method: "POST", json: registration(body) })).status).toBe(201);
  await register({ id: "local", provider: "ollama", url: ollama.url, metadata: { priority: 1 } });
  // Its credential is an environment variable nobody set: its model list cannot be fetched, so what it serves is unknown.
  await register({ id: "cloud", provider: "openai", url: cloud.url, auth: { type: "bearer_token", credentialRef: "env:KAI_TEST_UNSET_KEY" }, metadata: { priority: 2 } });
  client = new OpenAI({ apiKey: await mintToken(server, ["gateway:invoke"], "alice"), baseURL: `${server.url}/v1`, maxRetries: 0 });
  // Ollama's list is fetched after registration.
  await eventually(async () => (await client.models.list()).data.some((model) => model.id === OLLAMA_MODEL));
});
afterAll(async () => {
  await server?.dispose();
  await ollama?.close();
  await cloud?.close();
});

describe("models through the OpenAI front door", () => {
  it("answers 404 model_not_found naming the model when no service serves it, not another service's failure", async () => {
    const error = await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const api = error as InstanceType<typeof OpenAI.NotFoundError>;
    expect(api.code).toBe("model_not_found");
    expect(api.message).toContain("no-such-model");
    expect(api.message).not.toContain("credential");
  });

  it("answers a stream for such a model the same way, before any event", async () => {
    const error = await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }], stream: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("still routes a model a known service serves", async () => {
    const completion = await client.chat.completions.create({ model: OLLAMA_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
  });

  it("retrieves each listed model as OpenAI's model object, pinned ids included", async () => {
    const listed = (await client.models.list()).data.map((model) => model.id);
    expect(listed).toEqual(expect.arrayContaining([OLLAMA_MODEL, `local/${OLLAMA_MODEL}`]));
    for (const id of listed) {
      const model = await client.models.retrieve(id);
      expect(model).toEqual({ id, object: "model", created: expect.any(Number), owned_by: expect.any(String) });
    }
  });

  it("lists only the models of services offering a capability when ?capability= names one", async () => {
    const token = await mintToken(server, ["gateway:invoke"], "alice");
    const list = async (query: string) => ((await (await server.request(`/v1/models${query}`, { token })).json()) as { data: { id: string }[] }).data.map((model) => model.id);
    expect(await list("?capability=llm_chat")).toContain(OLLAMA_MODEL);
    expect(await list("?capability=embeddings")).toEqual([]);
    expect((await server.request("/v1/models?capability=Not%20One", { token })).status).toBe(400);
  });

  it("answers models.retrieve of an unknown model with 404 model_not_found naming it", async () => {
    const error = await client.models.retrieve(OPENAI_MODEL).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    expect((error as Error).message).toContain(OPENAI_MODEL);
  });
});
