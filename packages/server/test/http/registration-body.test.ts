/**
 * The register route validates its body with the protocol's ServiceRegistrationSchema compiled (`z.compile`, in
 * http/routes/services.ts) on the route's ordinary validator. This checks what that relies on: the schema compiles
 * (no recursive field, nothing async: `strict` would make the server fail at start otherwise), the compiled parser
 * answers the schema's value for every valid body, and a body it refuses gets the schema's own error (the route's
 * 400 body is unchanged). The PATCH body holds the same fields, so it must compile too.
 */
import { describe, expect, it } from "vitest";
import { ServicePatchSchema, ServiceRegistrationSchema } from "@kai/protocol";
import { validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";

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
  ["metadata with a credential-named key that holds no string", { ...base, metadata: { token: { expires: 3600 }, password: null } }],
  ["metadata just under 64 KiB of escaped JSON", { ...base, metadata: { q: '"'.repeat(32 * 1024 - 20) } }],
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
  ["a metadata key over 128 characters", { ...base, metadata: { ["k".repeat(129)]: 1 } }],
  ["metadata too large", { ...base, metadata: { big: "x".repeat(70 * 1024) } }],
  ["metadata too large once escaped", { ...base, metadata: { q: '"'.repeat(33 * 1024) } }],
  ["metadata too large and a credential", { ...base, metadata: { big: "x".repeat(70 * 1024), token: "t" } }],
  ["a metadata value that is not JSON", { ...base, metadata: { when: new Date(0) } }],
  ["metadata and another field wrong", { ...base, ttl: 0, metadata: { token: "t" } }],
  ["an unknown auth field", { ...base, auth: { type: "none", password: "p" } }],
  ["token and credentialRef", { ...base, auth: { type: "api_key", token: "t", credentialRef: "env:K" } }],
  ["a bad url scheme", { ...base, url: "ftp://x" }],
  ["a bad version", { ...base, version: "one" }],
  ["a bad capability", { ...base, capabilities: ["Not Valid"] }],
  ["timeout above interval", { ...base, healthCheck: { interval: 1, timeout: 2 } }],
  ["status offline", { ...base, status: "offline" }],
];

const compiled = z.compile(ServiceRegistrationSchema, { strict: true });
const route = { method: "POST", url: "/api/services/register", httpPart: "body" };
type Validate = (data: unknown) => { error?: Error; value?: unknown };
const fast = validatorCompiler({ ...route, schema: compiled }) as Validate;
const runtime = validatorCompiler({ ...route, schema: ServiceRegistrationSchema }) as Validate;

describe("the register route's compiled body schema", () => {
  it("compiles, and so does the PATCH body (no recursive field)", () => {
    expect(() => z.compile(ServicePatchSchema, { strict: true })).not.toThrow();
    expect(compiled).not.toBe(ServiceRegistrationSchema);
  });

  it.each(valid)("accepts %s with the schema's value", (_name, body) => {
    const expected = ServiceRegistrationSchema.safeParse(body);
    expect(expected.success).toBe(true);
    const answer = fast(body);
    expect(answer.error).toBeUndefined();
    expect(answer.value).toStrictEqual(expected.data);
  });

  it.each(invalid)("refuses %s with the schema's own error", (_name, body) => {
    expect(ServiceRegistrationSchema.safeParse(body).success).toBe(false);
    const answer = fast(body);
    expect(answer.error).toBeDefined();
    expect(JSON.stringify(answer.error)).toBe(JSON.stringify(runtime(body).error));
    expect(answer.error?.message).toBe(runtime(body).error?.message);
  });

  it("leaves the caller's body as it was", () => {
    const body = structuredClone(base);
    fast(body);
    expect(body).toStrictEqual(base);
  });
});
