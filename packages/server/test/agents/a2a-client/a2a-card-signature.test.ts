/**
 * A2A v1.0 agent card signatures (AgentCardSignature): the node's card is signed with its Ed25519 identity key
 * (`kid` its DID), checked here by the OFFICIAL A2A SDK's verifier with the key taken from that DID; external cards'
 * signatures are checked when present, through a real node and an agent made with the official SDK: a card signed
 * by the key its DID names is recorded `verified`, an unsigned one `unverified`, a changed signed card is refused.
 */
import { createPublicKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentCard, verifyAgentCardSignature } from "@a2a-js/sdk";
import { ErrorBodySchema, klp, ServiceRecordSchema } from "@kai/protocol";
import { AgentCardSource } from "../../../src/agents/a2a/server/agent-card.js";
import { signAgentCard } from "../../../src/agents/a2a/card-signature.js";
import { mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { SdkA2aAgent } from "./sdk-agent.js";

let server: TestServer;
let alice: string;
const agents: SdkA2aAgent[] = [];

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["agents:read", "agents:write"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  for (const agent of agents) await agent.close();
});

async function agentWith(name: string): Promise<SdkA2aAgent> {
  const agent = await SdkA2aAgent.start({ name });
  agents.push(agent);
  return agent;
}

describe("the node's own card", () => {
  it("is signed with the node's key: the SDK's verifier accepts it with the key from the kid's DID, and not once changed", async () => {
    const key = klp.generateKeyPair();
    const source = new AgentCardSource({ list: async () => ({ services: [], nextCursor: null, total: 0 }) as never }, Date.now, () => key);
    const json = JSON.parse(JSON.stringify(await source.cardJson("https://node.example"))) as { signatures: Array<{ protected: string }> };
    expect(json.signatures).toHaveLength(1);
    const header = JSON.parse(Buffer.from(json.signatures[0]!.protected, "base64url").toString("utf8")) as Record<string, unknown>;
    expect(header).toEqual({ alg: "EdDSA", kid: key.did, typ: "JOSE" });
    const verify = verifyAgentCardSignature(async (kid) => {
      const raw = klp.publicKeyFromDid(kid)!;
      return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
    });
    const card = AgentCard.fromJSON(json);
    await expect(verify(card)).resolves.toBeUndefined();
    await expect(verify({ ...card, name: "someone else" })).rejects.toThrow();
    // Without a key: unsigned, as before.
    const unsigned = (await new AgentCardSource({ list: async () => ({ services: [], nextCursor: null, total: 0 }) as never }).cardJson("https://node.example")) as { signatures?: unknown[] };
    expect(unsigned.signatures ?? []).toEqual([]);
  });
});

describe("external cards", () => {
  it("records a card signed by the key its DID names as verified, an unsigned one as unverified", async () => {
    const signedAgent = await agentWith("Signed Agent");
    const key = klp.generateKeyPair();
    signedAgent.signatures = (await signAgentCard(signedAgent.card(), key)).signatures;
    const added = await server.request("/api/agents/a2a", { method: "POST", json: { url: signedAgent.url, id: "kA2a:signed" }, token: alice });
    expect(added.status, await added.clone().text()).toBe(201);
    expect(ServiceRecordSchema.parse(await added.json()).metadata.a2a).toMatchObject({ signature: "verified", signedBy: key.did });

    const plain = await agentWith("Plain Agent");
    const unsigned = await server.request("/api/agents/a2a", { method: "POST", json: { url: plain.url, id: "kA2a:plain" }, token: alice });
    expect(unsigned.status).toBe(201);
    expect(ServiceRecordSchema.parse(await unsigned.json()).metadata.a2a).toMatchObject({ signature: "unverified" });
  });

  it("refuses a signed card that was changed after signing, and takes an agent offline whose card turns forged", async () => {
    const forged = await agentWith("Forged Agent");
    forged.signatures = (await signAgentCard({ ...forged.card(), name: "The Original" }, klp.generateKeyPair())).signatures;
    const refused = await server.request("/api/agents/a2a", { method: "POST", json: { url: forged.url, id: "kA2a:forged" }, token: alice });
    expect(refused.status).toBe(502);
    const body = ErrorBodySchema.parse(await refused.json());
    expect(body.error.code).toBe("agent_card_unreadable");
    expect(body.error.message).toContain("signature");

    const turning = await agentWith("Turning Agent");
    turning.signatures = (await signAgentCard(turning.card(), klp.generateKeyPair())).signatures;
    expect((await server.request("/api/agents/a2a", { method: "POST", json: { url: turning.url, id: "kA2a:turning" }, token: alice })).status).toBe(201);
    turning.skills = [...turning.skills, { id: "extra", name: "Extra", description: "", tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }];
    await server.mesh.a2a.refreshAll();
    const record = ServiceRecordSchema.parse(await (await server.request("/api/agents/kA2a:turning", { token: alice })).json());
    expect(record.status).toBe("offline");
  });
});
