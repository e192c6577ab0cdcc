/**
 * @module test/memory/embedding-fake
 * An OpenAI-compatible embedding server for memory tests, on the project's fake upstream (fake-server.ts): unlike
 * the OpenAI fake's fixed vector, each text gets its own deterministic vector, a hashed bag of its words, so texts
 * sharing words are near each other and a search has a right answer. `GET /v1/models` lists `EMBED_MODEL`.
 */
import { createHash } from "node:crypto";
import { FakeUpstream, type ProviderWire } from "../gateway/fakes/fake-server.js";

export const EMBED_MODEL = "embed-fake";
export const EMBED_DIMENSIONS = 64;

/** The fake's vector of `text`: each lower-cased word adds 1 to a dimension picked by its hash (plus a small bias). */
export function embedText(text: string): number[] {
  const vector = new Array<number>(EMBED_DIMENSIONS).fill(0);
  vector[0] = 0.01;
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const digest = createHash("sha256").update(word).digest();
    vector[digest.readUInt32LE(0) % EMBED_DIMENSIONS]! += 1;
  }
  return vector;
}

const wire: ProviderWire = {
  errorBody: (status, message) => ({ error: { message, type: "server_error", param: null, code: status === 429 ? "rate_limit_exceeded" : null } }),
  streamErrorFrame: (message) => `data: ${JSON.stringify({ error: { message } })}\n\n`,
  route(request, res, fake) {
    const body = (request.body ?? {}) as { input?: unknown; model?: unknown };
    switch (`${request.method} ${request.path}`) {
      case "GET /v1/models":
        return fake.sendJson(res, 200, { object: "list", data: [{ id: EMBED_MODEL, object: "model", created: 1_700_000_000, owned_by: "fake" }] });
      case "POST /v1/embeddings": {
        const inputs = (Array.isArray(body.input) ? body.input : [body.input]).map(String);
        return fake.sendJson(res, 200, {
          object: "list",
          data: inputs.map((input, index) => ({ object: "embedding", index, embedding: embedText(input) })),
          model: String(body.model),
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        });
      }
      default:
        return fake.sendJson(res, 404, { error: { message: `no route ${request.method} ${request.path}`, type: "invalid_request_error", param: null, code: null } });
    }
  },
};

export const startEmbeddingFake = () => new FakeUpstream(wire).start();
