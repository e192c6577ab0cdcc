// GET /api/connectors over HTTP: a token that may call the gateway reads every connector with, per operation, the
// parameters it honours as JSON Schema (the protocol's schema parses the answer); a token without gateway:invoke
// is refused. What each parameter does upstream is proved in test/gateway/connector-parameters.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorListSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe("GET /api/connectors", () => {
  it("describes every connector's operations and the parameters each honours", async () => {
    const token = await mintToken(server, ["gateway:invoke"]);
    const response = await server.request("/api/connectors", { token });
    expect(response.status).toBe(200);
    const { connectors } = ConnectorListSchema.parse(await response.json());
    const byId = new Map(connectors.map((connector) => [connector.id, connector]));
    expect([...byId.keys()]).toEqual(expect.arrayContaining(["openai", "ollama", "anthropic", "a1111", "comfyui", "qdrant", "whisper"]));
    const chat = (id: string) => byId.get(id)?.operations.find((entry) => entry.operation === "chat")?.parameters?.properties ?? {};
    expect(chat("ollama").top_k).toMatchObject({ type: "integer" });
    expect(chat("ollama").user).toBeUndefined();
    expect(chat("openai").seed).toBeDefined();
    expect(chat("openai").temperature).toMatchObject({ type: "number" });
    const images = byId.get("a1111")?.operations.find((entry) => entry.operation === "images")?.parameters?.properties ?? {};
    expect(Object.keys(images)).toEqual(expect.arrayContaining(["n", "size", "negative_prompt", "steps"]));
    // Operations without tuning parameters are listed without any.
    expect(byId.get("qdrant")?.operations.find((entry) => entry.operation === "vector_query")).toEqual({ operation: "vector_query" });
  });

  it("needs gateway:invoke", async () => {
    const token = await mintToken(server, ["services:read"]);
    expect((await server.request("/api/connectors", { token })).status).toBe(403);
    expect((await server.request("/api/connectors", { token: null })).status).toBe(401);
  });
});
