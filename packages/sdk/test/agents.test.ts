/**
 * `client.agents` against a real node: an agent signs its manifest with its own key (`signAgentManifest`) and
 * registers; it is listed, read, heartbeats through `client.services.heartbeat`, shows in `status()`, and is removed;
 * the node's refusals (a forged manifest, another key for a bound id) arrive as `KaiApiError`s with their codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, signAgentManifest } from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let node: RegistryFixture;
let agentOwner: KaiClient;
const key = klp.generateKeyPair();
const manifest = (name = "Web scraper") => ({
  id: "kExecutor:webscraper",
  name,
  skills: [{ id: "scrape", name: "Scrape", capability: "web_scrape" }],
  endpoint: { transport: "http" as const, url: "http://127.0.0.1:9/step" },
  ttl: 30,
});

beforeAll(async () => {
  node = await startRegistry();
  agentOwner = await node.clientWith(["agents:read", "agents:write", "services:heartbeat"], "scrapers");
});
afterAll(async () => node?.close());

describe("client.agents", () => {
  it("registers a signed manifest, lists, reads, heartbeats, shows the status and removes the agent", async () => {
    const { agent, created } = await agentOwner.agents.register(signAgentManifest(manifest(), key));
    expect(created).toBe(true);
    expect(agent).toMatchObject({ id: "kExecutor:webscraper", type: "agent", owner: "scrapers", capabilities: ["web_scrape"] });
    const again = await agentOwner.agents.register(signAgentManifest(manifest("Renamed"), key, new Date(Date.now() + 1000)));
    expect(again).toMatchObject({ created: false, agent: { name: "Renamed" } });

    expect((await agentOwner.agents.list()).agents.map((a) => a.id)).toEqual(["kExecutor:webscraper"]);
    expect((await agentOwner.agents.list({ capability: "llm_chat" })).agents).toEqual([]);
    expect((await agentOwner.agents.get("kExecutor:webscraper")).metadata.agent).toMatchObject({ did: key.did, source: "manifest" });
    expect(await agentOwner.services.heartbeat("kExecutor:webscraper", { status: "degraded" })).toMatchObject({ status: "degraded" });

    const { agents } = await agentOwner.agents.status();
    expect(agents).toEqual([expect.objectContaining({ id: "kExecutor:webscraper", status: "degraded", did: key.did, load: { running: 0, limit: 4 }, currentTasks: [] })]);

    await agentOwner.agents.remove("kExecutor:webscraper");
    await expect(agentOwner.agents.get("kExecutor:webscraper")).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("reports the node's refusals with their codes", async () => {
    const signed = signAgentManifest({ ...manifest(), id: "kExecutor:other" }, key);
    const forged = { ...signed, name: "changed after signing" };
    const error = await agentOwner.agents.register(forged).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 400, code: "agent_signature_invalid" });

    await agentOwner.agents.register(signed);
    await expect(agentOwner.agents.register(signAgentManifest({ ...manifest(), id: "kExecutor:other" }, klp.generateKeyPair()))).rejects.toMatchObject({
      status: 409,
      code: "agent_identity_mismatch",
    });
    const readOnly = await node.clientWith(["agents:read"], "scrapers");
    await expect(readOnly.agents.remove("kExecutor:other")).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });
});
