/**
 * The fast validator of registration bodies (http/registration-body.ts) answers exactly what the protocol's
 * ServiceRegistrationSchema answers: the same value for every valid body, a refusal for every invalid one, and then
 * the schema's own error (the route's 400 body is unchanged).
 */
import { describe, expect, it } from "vitest";
import { ServiceRegistrationSchema } from "@kai/protocol";
import { validatorCompiler } from "fastify-type-provider-zod";
import { parseRegistration, registrationValidatorCompiler } from "../../src/http/registration-body.js";

const base = {
  id: "svc-1",
  name: "ollama eu",
  description: "x",
  type: "service",
  provider: "ollama",
  capabilities: ["llm_chat", "embeddings"],
  tags: ["region=eu-west", "tier=gold", "bench"],
  url: "http://10.20.30.40:11434",
  protocol: "http",
  endpoints: [{ path: "/v1/chat/completions", method: "POST", capability: "llm_chat" }, { path: "/v1/embeddings" }],
  version: "1.4.2",
  visibility: "public",
  metadata: { models: ["llama3.1:8b"], zone: "rack-7", weight: 100, nested: { deep: [1, null, true, { a: "b" }] } },
  ttl: 30,
};

const valid: Array<[string, unknown]> = [
  ["the bench's record", base],
  ["only a name (every default)", { name: "n" }],
  ["no metadata", { ...base, metadata: undefined }],
  ["empty metadata", { ...base, metadata: {} }],
  ["duplicate capabilities and tags (deduplicated)", { ...base, capabilities: ["a", "a", "b"], tags: ["t", "t"] }],
  ["auth by reference with a header", { ...base, auth: { type: "api_key", credentialRef: "env:KEY", header: "X-Key" } }],
  ["auth with a raw token (for the vault)", { ...base, auth: { type: "bearer_token", token: "s3cret" } }],
  ["a health check with defaults", { ...base, healthCheck: { path: "/health" } }],
  ["rate limit, local, owner, trust, status", { ...base, rateLimit: { rpm: 10 }, isLocal: true, owner: "other", trustLevel: "trusted", status: "maintenance" }],
  ["a klp url", { name: "k", url: "klp://node/x" }],
];

const invalid: Array<[string, unknown]> = [
  ["not an object", "text"],
  ["null", null],
  ["no name", { ...base, name: undefined }],
  ["an unknown field", { ...base, colour: "red" }],
  ["a raw credential in metadata", { ...base, metadata: { apiKey: "k" } }],
  ["a raw credential deep in metadata", { ...base, metadata: { a: [{ password: "p" }] } }],
  ["metadata not an object", { ...base, metadata: [1, 2] }],
  ["metadata too large", { ...base, metadata: { big: "x".repeat(70 * 1024) } }],
  ["metadata and another field wrong", { ...base, ttl: 0, metadata: { token: "t" } }],
  ["an unknown auth field", { ...base, auth: { type: "none", password: "p" } }],
  ["token and credentialRef", { ...base, auth: { type: "api_key", token: "t", credentialRef: "env:K" } }],
  ["a bad url scheme", { ...base, url: "ftp://x" }],
  ["a bad version", { ...base, version: "one" }],
  ["a bad capability", { ...base, capabilities: ["Not Valid"] }],
  ["timeout above interval", { ...base, healthCheck: { interval: 1, timeout: 2 } }],
  ["status offline", { ...base, status: "offline" }],
];

describe("registration body validator", () => {
  it.each(valid)("accepts %s with the schema's value", (_name, body) => {
    const expected = ServiceRegistrationSchema.safeParse(body);
    expect(expected.success).toBe(true);
    expect(parseRegistration(body)).toStrictEqual(expected.data);
  });

  it.each(invalid)("refuses %s, and the route answers the schema's error", (_name, body) => {
    expect(ServiceRegistrationSchema.safeParse(body).success).toBe(false);
    expect(parseRegistration(body)).toBeUndefined();
    const route = { schema: ServiceRegistrationSchema, method: "POST", url: "/api/services/register", httpPart: "body" };
    const fast = registrationValidatorCompiler(route) as (data: unknown) => { error?: Error; value?: unknown };
    const runtime = validatorCompiler(route) as (data: unknown) => { error?: Error; value?: unknown };
    const answer = fast(body);
    expect(answer.error).toBeDefined();
    expect(JSON.stringify(answer.error)).toBe(JSON.stringify(runtime(body).error));
    expect(answer.error?.message).toBe(runtime(body).error?.message);
  });

  it("leaves the caller's body as it was", () => {
    const body = structuredClone(base);
    parseRegistration(body);
    expect(body).toStrictEqual(base);
  });
});
