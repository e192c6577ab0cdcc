/**
 * The front doors for the other capabilities, end to end with the official `openai` client where OpenAI
 * defines the call: audio transcription (multipart upload through the gateway to a Whisper-style server),
 * image generation (to an A1111 server, translated), and vector storage through the generic route (Qdrant).
 */
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startWhisperFake, TRANSCRIPT, WHISPER_MODEL } from "../fakes/whisper-fake.js";
import { startA1111Fake } from "../fakes/a1111-fake.js";
import { startQdrantFake } from "../fakes/qdrant-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";

let server: TestServer;
let whisper: { fake: FakeUpstream; seen: { last?: { fields: Record<string, string[]>; file?: { name: string; size: number } } } };
let a1111: FakeUpstream;
let qdrant: FakeUpstream;
let token: string;
let client: OpenAI;

beforeAll(async () => {
  whisper = await startWhisperFake();
  a1111 = await startA1111Fake();
  qdrant = (await startQdrantFake()).fake;
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const register = async (body: Record<string, unknown>) => expect((await server.request("/api/services/register", { method: "POST", json: registration(body) })).status).toBe(201);
  await register({ id: "stt", provider: "whisper", capabilities: ["audio_transcription"], url: whisper.fake.url, metadata: { models: [WHISPER_MODEL] } });
  await register({ id: "sd", provider: "a1111", capabilities: ["image_generation"], url: a1111.url });
  await register({ id: "vectors", provider: "qdrant", capabilities: ["vector_storage"], url: qdrant.url });
  token = await mintToken(server, ["gateway:invoke"], "alice");
  client = new OpenAI({ apiKey: token, baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server?.dispose();
  await whisper?.fake.close();
  await a1111?.close();
  await qdrant?.close();
});

describe("other capabilities through the front doors", () => {
  it("transcribes an uploaded audio file (multipart in, multipart upstream)", async () => {
    const audio = Buffer.from("RIFF....WAVEfmt fake audio bytes");
    const { data, response } = await client.audio.transcriptions.create({ file: await toFile(audio, "clip.wav", { type: "audio/wav" }), model: WHISPER_MODEL, language: "en" }).withResponse();
    expect(data.text).toBe(TRANSCRIPT);
    expect(response.headers.get("x-kai-service")).toBe("stt");
    expect(whisper.seen.last?.file?.size).toBe(audio.length);
    expect(whisper.seen.last?.fields.language).toEqual(["en"]);
  });

  it("generates an image through A1111", async () => {
    const { data, response } = await client.images.generate({ prompt: "a lighthouse", size: "512x512", n: 1, response_format: "b64_json" }).withResponse();
    expect(data.data?.[0]?.b64_json).toBeTruthy();
    expect(response.headers.get("x-kai-service")).toBe("sd");
  });

  it("upserts and queries vectors through the generic route", async () => {
    const call = (operation: string, request: unknown) => server.request("/api/route/vector_storage", { method: "POST", token, json: { operation, request } });
    // Collections are managed on the provider (not a routed operation); the points go through the gateway.
    const created = await fetch(`${qdrant.url}/collections/docs`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ vectors: { size: 3, distance: "Cosine" } }) });
    expect(created.status).toBe(200);
    const upsert = await call("upsert", { collection: "docs", points: [{ id: "a", vector: [1, 0, 0] }, { id: "b", vector: [0, 1, 0] }] });
    expect(upsert.status, await upsert.clone().text()).toBe(200);
    const query = await call("query", { collection: "docs", vector: [0.9, 0.1, 0], k: 1 });
    expect(query.status, await query.clone().text()).toBe(200);
    const body = (await query.json()) as { response: { matches: { id: string }[] }; servedBy: { id: string } };
    expect(body.response.matches[0]?.id).toBe("a");
    expect(body.servedBy.id).toBe("vectors");
  });

  it("refuses an operation that does not belong to the capability", async () => {
    const response = await server.request("/api/route/vector_storage", { method: "POST", token, json: { operation: "chat", request: { model: "m", messages: [] } } });
    expect(response.status).toBe(400);
  });
});
