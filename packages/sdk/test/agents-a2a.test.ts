/**
 * `client.agents.addA2a(url)` against a real node: a small A2A agent (a node:http server answering its agent card)
 * is added by URL and becomes an agent record (transport a2a, skills as capabilities); added again it is the same
 * record (created false); a URL with no card is refused as `agent_card_unreadable`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let node: RegistryFixture;
let owner: KaiClient;
let cardServer: Server;
let base = "";

beforeAll(async () => {
  cardServer = createServer((request, response) => {
    if (request.url !== "/.well-known/agent-card.json") return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        name: "Card Only",
        description: "an agent card",
        version: "1.0.0",
        supportedInterfaces: [{ url: `${base}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" }],
        capabilities: { streaming: false },
        defaultInputModes: ["text/plain"],
        defaultOutputModes: ["text/plain"],
        skills: [{ id: "summarize", name: "Summarize", description: "", tags: ["text"] }],
      }),
    );
  });
  await new Promise<void>((resolve) => cardServer.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(cardServer.address() as AddressInfo).port}`;
  node = await startRegistry();
  owner = await node.clientWith(["agents:read", "agents:write"], "a2a-owner");
});
afterAll(async () => {
  await node?.close();
  await new Promise((resolve) => cardServer?.close(resolve));
});

describe("client.agents.addA2a", () => {
  it("adds an A2A agent by URL, and adding it again updates the same record", async () => {
    const { agent, created } = await owner.agents.addA2a(base);
    expect(created).toBe(true);
    expect(agent).toMatchObject({ id: "kA2a:card-only", type: "agent", owner: "a2a-owner", url: `${base}/a2a` });
    expect(agent.capabilities).toEqual(expect.arrayContaining(["summarize", "text"]));
    expect(agent.metadata.agent).toMatchObject({ transport: "a2a", source: "a2a" });
    const again = await owner.agents.addA2a(`${base}/.well-known/agent-card.json`, { id: "kA2a:card-only" });
    expect(again.created).toBe(false);
  });

  it("refuses a URL that has no agent card", async () => {
    const refused = await owner.agents.addA2a(`${base}/elsewhere/`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect((refused as KaiApiError).code).toBe("agent_card_unreadable");
  });
});
