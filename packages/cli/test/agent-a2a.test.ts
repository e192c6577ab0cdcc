/**
 * `kai agent add-a2a <url>` with the built CLI against a real node: a small A2A agent (a node:http server answering
 * its agent card) is added by URL and listed with transport a2a; a URL without a card exits with the error's code.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
let cardServer: Server;
let base = "";
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

beforeAll(async () => {
  cardServer = createServer((request, response) => {
    if (request.url !== "/.well-known/agent-card.json") return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        name: "Cli Card",
        description: "",
        version: "1.0.0",
        supportedInterfaces: [{ url: `${base}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" }],
        capabilities: {},
        defaultInputModes: [],
        defaultOutputModes: [],
        skills: [{ id: "translate", name: "Translate", description: "", tags: [] }],
      }),
    );
  });
  await new Promise<void>((resolve) => cardServer.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(cardServer.address() as AddressInfo).port}`;
  server = await startTestServer();
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
  await new Promise((resolve) => cardServer?.close(resolve));
});

describe("kai agent add-a2a", () => {
  it("adds an A2A agent by URL; it is listed with transport a2a; a URL without a card is refused", async () => {
    const added = await kai(["agent", "add-a2a", base]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain("added A2A agent kA2a:cli-card (translate)");
    const list = await kai(["agent", "list"]);
    expect(list.stdout).toMatch(/kA2a:cli-card\s+Cli Card\s+active\s+a2a\s+translate/);
    const refused = await kai(["agent", "add-a2a", `${base}/nothing/`, "--json"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("agent_card_unreadable");
  });
});
