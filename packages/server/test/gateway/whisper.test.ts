// Runs the shared connector contract for the Whisper (OpenAI-style audio) connector against its fake, plus
// the multipart body (parsed back by the fake with undici's own parser), every response_format, usage, and
// servers that list no models.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { whisperConnector } from "../../src/gateway/connectors/whisper/index.js";
import { describeConnectorContract } from "./connector-contract.js";
import type { FakeUpstream } from "./fakes/fake-server.js";
import { TOKEN_MODEL, TRANSCRIPT, WHISPER_MODEL, startWhisperFake, type SeenForm } from "./fakes/whisper-fake.js";

const AUDIO = Buffer.from("RIFF\u0000\u0000\u0000\u0000WAVEfmt fake audio bytes");

describeConnectorContract("whisper", {
  connector: whisperConnector,
  start: async (credential) => (await startWhisperFake({ requireKey: credential })).fake,
  expectedModels: [WHISPER_MODEL],
  probe: { path: "/v1/audio/transcriptions", call: (context) => whisperConnector.transcriptions!({ file: AUDIO, model: WHISPER_MODEL }, context) },
  notFound: { call: (context) => whisperConnector.transcriptions!({ file: AUDIO, model: "missing-model" }, context), code: "model_not_found" },
  checkAuth: (headers, credential) => expect(headers.authorization).toBe(`Bearer ${credential}`),
});

describe("whisper specifics", () => {
  let fake: FakeUpstream;
  let seen: { last?: SeenForm };
  const ctx = () => ({ target: { baseUrl: fake.url, credential: "sk-whisper" } });
  beforeAll(async () => {
    ({ fake, seen } = await startWhisperFake({ requireKey: "sk-whisper" }));
  });
  afterAll(async () => {
    await fake.close();
  });

  it("sends the audio and every OpenAI field as multipart", async () => {
    const result = await whisperConnector.transcriptions!(
      { file: AUDIO, filename: "talk.wav", mimeType: "audio/wav", model: WHISPER_MODEL, language: "de", prompt: "Names: Ada", temperature: 0.2, response_format: "verbose_json", timestamp_granularities: ["word", "segment"] },
      ctx(),
    );
    expect(seen.last?.file).toMatchObject({ name: "talk.wav", type: "audio/wav", size: AUDIO.length });
    expect(seen.last?.file?.bytes.equals(AUDIO)).toBe(true);
    expect(seen.last?.fields).toEqual({ model: [WHISPER_MODEL], language: ["de"], prompt: ["Names: Ada"], temperature: ["0.2"], response_format: ["verbose_json"], "timestamp_granularities[]": ["word", "segment"] });
    expect(result.data).toMatchObject({ text: TRANSCRIPT, language: "de", duration: 1.5, task: "transcribe" });
    expect(result.data.segments).toHaveLength(1);
    expect(result.data.words?.[0]).toMatchObject({ word: "Hello" });
  });

  it("sends a Buffer that is a slice of a larger pool correctly (only its own bytes)", async () => {
    const pool = Buffer.concat([Buffer.from("XXXX"), AUDIO, Buffer.from("YYYY")]);
    await whisperConnector.transcriptions!({ file: pool.subarray(4, 4 + AUDIO.length), model: WHISPER_MODEL }, ctx());
    expect(seen.last?.file?.bytes.equals(AUDIO)).toBe(true);
    expect(seen.last?.file?.name).toBe("audio.wav");
  });

  it.each([
    ["text", `${TRANSCRIPT}\n`],
    ["srt", `1\n00:00:00,000 --> 00:00:01,500\n${TRANSCRIPT}\n\n`],
    ["vtt", `WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n${TRANSCRIPT}\n\n`],
  ] as const)("returns the %s format's body as text", async (format, body) => {
    const result = await whisperConnector.transcriptions!({ file: AUDIO, model: WHISPER_MODEL, response_format: format }, ctx());
    expect(result.data).toEqual({ text: body });
  });

  it("reports token usage when the server gives it", async () => {
    const plain = await whisperConnector.transcriptions!({ file: AUDIO, model: WHISPER_MODEL }, ctx());
    expect(plain.usage).toBeUndefined();
    const metered = await whisperConnector.transcriptions!({ file: AUDIO, model: TOKEN_MODEL }, ctx());
    expect(metered.usage).toMatchObject({ prompt_tokens: 14, completion_tokens: 5, total_tokens: 19 });
  });

  it("rejects an empty file before calling the server", async () => {
    const before = fake.requests.length;
    await expect(whisperConnector.transcriptions!({ file: new Uint8Array(0), model: WHISPER_MODEL }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
    expect(fake.requests.length).toBe(before);
  });

  it("lists no models (instead of failing) on a server without /v1/models", async () => {
    const { fake: bare } = await startWhisperFake({ noModels: true });
    try {
      expect(await whisperConnector.listModels({ target: { baseUrl: bare.url } })).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});
