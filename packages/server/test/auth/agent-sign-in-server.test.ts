// Agents sign in with their keys through the real server: an admin creates an agent user with its DID and a role,
// the agent asks for a challenge, signs it and signs in; the access token it gets does what the role allows and
// nothing more. A replayed answer, a wrong key and an unknown DID are `invalid_credentials`; the challenge route
// answers an unknown DID like a known one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChallengeResponseSchema, ErrorBodySchema, klp, type ChallengeResponse } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";
import { registration } from "../helpers/test-server.js";
import { login, startSignInServer } from "./sign-in-support.js";

let server: TestServer;
const agent = klp.generateKeyPair();

async function challenge(did: string): Promise<ChallengeResponse> {
  const response = await server.request("/api/auth/challenge", { method: "POST", json: { did }, token: null });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return ChallengeResponseSchema.parse(await response.json());
}

const signed = (keys: klp.KlpKeyPair, answer: ChallengeResponse, did = keys.did) => ({
  did,
  challengeId: answer.challengeId,
  signature: klp.toBase64Url(klp.signBytes(keys.secretKey, klp.utf8(answer.message))),
});

beforeAll(async () => {
  server = await startSignInServer();
  const created = await server.request("/api/users", { method: "POST", json: { username: "builder:agent-1", kind: "agent", did: agent.did, roles: ["viewer"] } });
  expect(created.status, await created.clone().text()).toBe(201);
});
afterAll(async () => server?.dispose());

describe("agent sign-in through the API", () => {
  it("signs an agent in with a signed challenge; its token carries its role's scopes and no more", async () => {
    const answer = await login(server, signed(agent, await challenge(agent.did)));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ user: { username: "builder:agent-1", kind: "agent", roles: ["viewer"] } });
    expect(answer.body.scopes).toEqual(expect.arrayContaining(["services:read"]));
    expect(answer.body.scopes).not.toContain("services:write");
    const token = answer.body.accessToken!;
    expect((await server.request("/api/services", { token })).status).toBe(200);
    const write = await server.request("/api/services/register", { method: "POST", json: registration({ id: "agent-svc" }), token });
    expect(write.status).toBe(403);
  });

  it("refuses a replayed answer, a wrong key and an unknown DID with invalid_credentials", async () => {
    const first = signed(agent, await challenge(agent.did));
    expect((await login(server, first)).status).toBe(200);
    const replay = await login(server, first);
    expect(replay.status).toBe(401);
    expect(ErrorBodySchema.parse(replay.body).error.code).toBe("invalid_credentials");

    const impostor = klp.generateKeyPair();
    const wrongKey = await login(server, signed(impostor, await challenge(agent.did), agent.did));
    expect(wrongKey.status).toBe(401);
    expect(ErrorBodySchema.parse(wrongKey.body).error.code).toBe("invalid_credentials");

    const stranger = klp.generateKeyPair();
    const strangerChallenge = await challenge(stranger.did);
    expect(Object.keys(strangerChallenge).sort()).toEqual(["challengeId", "expiresAt", "message"]);
    const unknown = await login(server, signed(stranger, strangerChallenge));
    expect(unknown.status).toBe(401);
    expect(ErrorBodySchema.parse(unknown.body).error.code).toBe("invalid_credentials");
    // The same message for every failure: which check failed is not said.
    expect(new Set([replay, wrongKey, unknown].map((a) => ErrorBodySchema.parse(a.body).error.message)).size).toBe(1);
  });

  it("records failures with their reason and the client's address in the security log, never the signature", async () => {
    const events = await server.request("/api/security/events?type=sign_in_failed&limit=50");
    expect(events.status).toBe(200);
    const text = await events.text();
    expect(text).toContain("agent_key");
    expect(text).toContain("unknown_or_spent_challenge");
    expect(text).toContain("bad_signature");
    expect(text).not.toContain(signed(agent, await challenge(agent.did)).signature);
    // Failures name where the attempt came from, as the successful sign-in does (the test client's loopback address).
    type Listed = { events: Array<{ address: string | null; details: { method?: string; reason?: string } }> };
    const signIns = ((await (await server.request("/api/security/events?type=sign_in&limit=50")).json()) as Listed).events;
    const address = signIns.find((event) => event.details.method === "agent_key")?.address;
    expect(address).toMatch(/127\.0\.0\.1|::1/);
    const failures = (JSON.parse(text) as Listed).events.filter((event) => event.details.method === "agent_key");
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const failure of failures) expect(failure.address, failure.details.reason).toBe(address);
  });

  it("answers 400 for a challenge asked for text that is no DID", async () => {
    const response = await server.request("/api/auth/challenge", { method: "POST", json: { did: "did:example:123" }, token: null });
    expect(response.status).toBe(400);
    expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("validation_failed");
  });
});
