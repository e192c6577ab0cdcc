// Agents sign in with their keys, checked on the service over the real memory identity store: a challenge binds
// node, agent DID, nonce and expiry; the signed challenge gives the agent's user once; a replayed, expired, foreign,
// unsigned or wrongly signed challenge and an unknown DID are all the one `invalid_credentials`; a disabled agent
// hears `account_disabled` only after proving its key; challenges for DIDs that are no agent look the same.
import { beforeEach, describe, expect, it } from "vitest";
import { klp, type AgentLoginRequest, type ChallengeResponse } from "@kai/protocol";
import { AgentSignInService, AGENT_SIGN_IN_CONTEXT } from "../../src/auth/agents/agent-sign-in.js";
import { ApiError } from "../../src/errors.js";
import { MemoryStore } from "../../src/storage/memory/memory-store.js";
import type { IdentityStore, UserRow } from "../../src/storage/contracts/identity-store.js";

const NODE_DID = klp.generateKeyPair().did;
/** Where the attempts come from (recorded with a failure). */
const CLIENT = { address: "192.0.2.7" };

function agentRow(did: string, overrides: Partial<UserRow> = {}): UserRow {
  const now = new Date().toISOString();
  return {
    id: `user-${Math.random().toString(36).slice(2)}`,
    username: `agent:${did.slice(9, 17)}`,
    kind: "agent",
    displayName: null,
    passwordHash: null,
    did,
    ssoSubject: null,
    state: "active",
    roles: ["developer"],
    mustChangePassword: false,
    preferences: {},
    createdAt: now,
    updatedAt: now,
    passwordChangedAt: null,
    lastSignInAt: null,
    ...overrides,
  };
}

function sign(keys: klp.KlpKeyPair, challenge: ChallengeResponse): AgentLoginRequest {
  return { did: keys.did, challengeId: challenge.challengeId, signature: klp.toBase64Url(klp.signBytes(keys.secretKey, klp.utf8(challenge.message))), mode: "token" };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ApiError);
  return (error as ApiError).code;
}

let store: IdentityStore;
let clock: number;
let service: AgentSignInService;
let agent: klp.KlpKeyPair;
let agentUser: UserRow;

beforeEach(async () => {
  store = new MemoryStore().identityStore();
  clock = Date.parse("2030-01-01T00:00:00Z");
  service = new AgentSignInService({ store, nodeDid: () => NODE_DID, now: () => clock });
  agent = klp.generateKeyPair();
  agentUser = agentRow(agent.did);
  await store.insertUser(agentUser);
});

describe("agent sign-in", () => {
  it("binds node, agent, nonce and a 60 s expiry into the message, and gives the agent's user for its signature", async () => {
    const challenge = await service.challenge(agent.did);
    const lines = challenge.message.split("\n");
    expect(lines[0]).toBe(AGENT_SIGN_IN_CONTEXT);
    expect(lines).toContain(`node: ${NODE_DID}`);
    expect(lines).toContain(`agent: ${agent.did}`);
    expect(lines).toContain(`challenge: ${challenge.challengeId}`);
    expect(lines.find((line) => line.startsWith("nonce: "))?.slice(7)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(lines).toContain(`expires: ${challenge.expiresAt}`);
    expect(Date.parse(challenge.expiresAt) - clock).toBe(60_000);
    expect((await service.verify(sign(agent, challenge), CLIENT)).id).toBe(agentUser.id);
  });

  it("gives every challenge a fresh nonce and id", async () => {
    const [a, b] = await Promise.all([service.challenge(agent.did), service.challenge(agent.did)]);
    expect(a.challengeId).not.toBe(b.challengeId);
    expect(a.message).not.toBe(b.message);
  });

  it("accepts a challenge once: a replayed answer is refused", async () => {
    const answer = sign(agent, await service.challenge(agent.did));
    await service.verify(answer, CLIENT);
    expect(await refusal(service.verify(answer, CLIENT))).toBe("invalid_credentials");
  });

  it("refuses an expired challenge", async () => {
    const answer = sign(agent, await service.challenge(agent.did));
    clock += 60_001;
    expect(await refusal(service.verify(answer, CLIENT))).toBe("invalid_credentials");
  });

  it("refuses a signature by another key, and spends the challenge doing so", async () => {
    const challenge = await service.challenge(agent.did);
    const impostor = klp.generateKeyPair();
    expect(await refusal(service.verify({ ...sign(impostor, challenge), did: agent.did }, CLIENT))).toBe("invalid_credentials");
    expect(await refusal(service.verify(sign(agent, challenge), CLIENT))).toBe("invalid_credentials");
  });

  it("refuses another DID's challenge, even signed by that other DID's key", async () => {
    const other = klp.generateKeyPair();
    await store.insertUser(agentRow(other.did));
    const challenge = await service.challenge(agent.did);
    expect(await refusal(service.verify(sign(other, challenge), CLIENT))).toBe("invalid_credentials");
  });

  it("refuses garbage signatures and unknown challenge ids", async () => {
    const challenge = await service.challenge(agent.did);
    expect(await refusal(service.verify({ ...sign(agent, challenge), signature: "not base64url!" }, CLIENT))).toBe("invalid_credentials");
    expect(await refusal(service.verify({ ...sign(agent, challenge), challengeId: "no-such-challenge" }, CLIENT))).toBe("invalid_credentials");
  });

  it("answers a DID that is no agent exactly like one that is, and refuses its valid signature as invalid_credentials", async () => {
    const stranger = klp.generateKeyPair();
    const challenge = await service.challenge(stranger.did);
    expect(Object.keys(challenge).sort()).toEqual(["challengeId", "expiresAt", "message"]);
    expect(challenge.message.split("\n")).toContain(`agent: ${stranger.did}`);
    expect(await refusal(service.verify(sign(stranger, challenge), CLIENT))).toBe("invalid_credentials");
  });

  it("refuses a person's DID: only agents sign in with keys", async () => {
    const person = klp.generateKeyPair();
    await store.insertUser(agentRow(person.did, { kind: "person", username: "person-with-did" }));
    expect(await refusal(service.verify(sign(person, await service.challenge(person.did)), CLIENT))).toBe("invalid_credentials");
  });

  it("says account_disabled only to the key's holder", async () => {
    await store.updateUser(agentUser.id, { state: "disabled" });
    expect(await refusal(service.verify(sign(agent, await service.challenge(agent.did)), CLIENT))).toBe("account_disabled");
    const challenge = await service.challenge(agent.did);
    expect(await refusal(service.verify({ ...sign(klp.generateKeyPair(), challenge), did: agent.did }, CLIENT))).toBe("invalid_credentials");
  });

  it("refuses to issue a challenge for text that is not a DID", async () => {
    expect(await refusal(service.challenge("did:example:123"))).toBe("validation_failed");
  });
});
