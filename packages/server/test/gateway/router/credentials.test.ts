// Credential injection: `vault:` references read from the real vault (also the ones a registration's
// auth.token was moved to), `env:` references from the server's environment, custom headers and Basic
// auth per record; a locked vault or a missing secret is a clear error; and the credential never shows
// up in an error message or a log line, even when the provider echoes it back.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import { ALICE, chat, openRouterHarness, rejection, type RouterHarness } from "./harness.js";

const KEY = "sk-live-VAULTED-7f3a9c2e1b";
const ENV_KEY = "sk-env-FROMENV-5d8e2a7c";
const ROOT = { tokenId: "tok-admin", owner: "root", scopes: ["admin" as const] };

let keyed: FakeUpstream;
let open: FakeUpstream;
let h: RouterHarness;

beforeAll(async () => {
  keyed = await startOpenAIFake({ requireKey: KEY });
  open = await startOpenAIFake();
});
afterAll(async () => {
  await keyed.close();
  await open.close();
});
beforeEach(async () => {
  keyed.requests.length = 0;
  open.requests.length = 0;
  h = await openRouterHarness({}, { OPENAI_KEY: ENV_KEY });
});
afterEach(async () => {
  const logs = h.logLines.join("\n");
  // Whatever each test did, no form of any credential reached a log line.
  for (const secret of [KEY, ENV_KEY, Buffer.from(`user:${KEY}`).toString("base64")]) expect(logs).not.toContain(secret);
  await h.close();
});

const lastChat = (fake: FakeUpstream) => fake.last("/v1/chat/completions")!;

describe("credential resolution", () => {
  it("injects a vault secret referenced by vault:<name>", async () => {
    await h.vault.putSecret("providers/openai", { value: KEY }, ROOT);
    await h.register({ id: "vaulted", url: keyed.url, auth: { type: "bearer_token", credentialRef: "vault:providers/openai" }, metadata: { models: ["gpt-fake"] } });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("vaulted");
    expect(lastChat(keyed).headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("injects the credential a registration handed over as auth.token", async () => {
    const record = await h.register({ id: "tokened", url: keyed.url, auth: { type: "bearer_token", token: KEY }, metadata: { models: ["gpt-fake"] } });
    expect(record.auth.credentialRef).toMatch(/^vault:services\//);
    expect(JSON.stringify(record)).not.toContain(KEY);
    await h.router.route("chat", chat(), { principal: ALICE });
    expect(lastChat(keyed).headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("injects an environment variable referenced by env:<NAME>, and says clearly when it is missing", async () => {
    await h.register({ id: "from-env", url: open.url, auth: { type: "api_key", credentialRef: "env:OPENAI_KEY" }, metadata: { models: ["gpt-fake"] } });
    await h.router.route("chat", chat(), { principal: ALICE });
    expect(lastChat(open).headers.authorization).toBe(`Bearer ${ENV_KEY}`);
    await h.register({ id: "missing-env", url: open.url, auth: { type: "api_key", credentialRef: "env:NOT_SET" }, metadata: { models: ["gpt-fake"] } });
    const error = await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "missing-env" } }), "credential_unavailable");
    expect(error.status).toBe(503);
  });

  it("presents the credential in the record's header, or as HTTP Basic", async () => {
    await h.vault.putSecret("providers/azure", { value: KEY }, ROOT);
    await h.register({ id: "custom-header", url: open.url, auth: { type: "api_key", header: "api-key", credentialRef: "vault:providers/azure" }, metadata: { models: ["gpt-fake"] } });
    await h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "custom-header" } });
    expect(lastChat(open).headers["api-key"]).toBe(KEY);
    expect(lastChat(open).headers.authorization).toBeUndefined();
    await h.vault.putSecret("providers/basic", { value: `user:${KEY}` }, ROOT);
    await h.register({ id: "basic", url: open.url, auth: { type: "basic", credentialRef: "vault:providers/basic" }, metadata: { models: ["gpt-fake"] } });
    await h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "basic" } });
    expect(lastChat(open).headers.authorization).toBe(`Basic ${Buffer.from(`user:${KEY}`).toString("base64")}`);
  });

  it("a locked vault is vault_locked (503) and fails over to a service that needs no vault", async () => {
    await h.vault.putSecret("providers/openai", { value: KEY }, ROOT);
    await h.register({ id: "vaulted", url: keyed.url, auth: { type: "bearer_token", credentialRef: "vault:providers/openai" }, metadata: { priority: 1, models: ["gpt-fake"] } });
    await h.vault.lock(ROOT);
    const error = await rejection(h.router.route("chat", chat(), { principal: ALICE }), "vault_locked");
    expect(error.status).toBe(503);
    expect(keyed.requests.filter((request) => request.path === "/v1/chat/completions")).toHaveLength(0);
    await h.register({ id: "plain", url: open.url, metadata: { priority: 2, models: ["gpt-fake"] } });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("plain");
    expect(result.attempts[0]).toMatchObject({ serviceId: "vaulted", code: "vault_locked" });
  });

  it("a missing vault secret is credential_unavailable", async () => {
    await h.register({ id: "dangling", url: open.url, auth: { type: "bearer_token", credentialRef: "vault:providers/nothing" }, metadata: { models: ["gpt-fake"] } });
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "credential_unavailable");
  });

  it("never puts the credential in an error, even when the provider echoes it", async () => {
    await h.vault.putSecret("providers/wrong", { value: "sk-wrong-ECHOED-9a8b7c6d5e" }, ROOT);
    await h.register({ id: "wrong", url: keyed.url, auth: { type: "bearer_token", credentialRef: "vault:providers/wrong" }, metadata: { models: ["gpt-fake"] } });
    const error = await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_auth_failed");
    expect(error.message).toContain("Incorrect API key");
    expect(error.message).not.toContain("sk-wrong-ECHOED-9a8b7c6d5e");
    expect(h.logLines.join("\n")).not.toContain("sk-wrong-ECHOED-9a8b7c6d5e");
    // A credential the connector never saw as "the credential" (here HTTP Basic, echoed back base64-encoded
    // by the fake) is scrubbed by the router.
    const encoded = Buffer.from("user:plainsecretvalue123").toString("base64");
    await h.vault.putSecret("providers/wrong-basic", { value: "user:plainsecretvalue123" }, ROOT);
    await h.register({ id: "wrong-basic", url: keyed.url, auth: { type: "basic", credentialRef: "vault:providers/wrong-basic" }, metadata: { models: ["gpt-fake"] } });
    const echoed = await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "wrong-basic" } }), "upstream_auth_failed");
    expect(lastChat(keyed).headers.authorization).toBe(`Basic ${encoded}`);
    expect(echoed.message).toContain("Incorrect API key");
    expect(echoed.message).not.toContain(encoded);
    expect(h.logLines.join("\n")).not.toContain(encoded);
  });
});
