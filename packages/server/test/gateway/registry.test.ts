// The connector registry: every connector reachable by its id, ids unique, and a redirect never followed
// (it would carry the credential header to another host).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { connectors, getConnector } from "../../src/gateway/connectors/index.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";

describe("connector registry", () => {
  it("registers every connector under its own id", () => {
    expect([...connectors.keys()].sort()).toEqual([
      "a1111",
      "anthropic",
      "chroma",
      "comfyui",
      "llama-cpp",
      "lmstudio",
      "n8n",
      "ollama",
      "open-webui",
      "openai",
      "openai-compatible",
      "qdrant",
      "vllm",
      "whisper",
    ]);
    for (const [id, connector] of connectors) expect(connector.id).toBe(id);
    expect(getConnector("nope")).toBeUndefined();
  });

  it("does not follow an upstream redirect with the credential", async () => {
    let redirectedHits = 0;
    const elsewhere = createServer((_req, res) => {
      redirectedHits += 1;
      res.end("{}");
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/v1/messages`;
    const redirector = createServer((_req, res) => {
      res.writeHead(307, { location: target });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
    try {
      const error = await getConnector("anthropic")!
        .chat!({ model: "m", messages: [{ role: "user", content: "hi" }] }, { target: { baseUrl: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`, credential: "sk-ant-SECRET-123456" } })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).code).toBe("upstream_error");
      expect(redirectedHits).toBe(0);
    } finally {
      redirector.closeAllConnections();
      elsewhere.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });
});
