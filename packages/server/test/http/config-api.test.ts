// GET /api/config: an administrator reads the node's effective configuration, with every secret redacted (by the
// shape of the setting, so that a secret added later is hidden too); anyone else is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeConfigResponseSchema, REDACTED_VALUE } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { redactConfig } from "../../src/http/routes/config.js";

const DB_PASSWORD = "pg-pass-never-shown-7c1f";
let server: TestServer;

beforeAll(async () => {
  // A PostgreSQL URL with a password that this SQLite node never uses: its config still carries it.
  server = await startTestServer({ config: { storage: { postgres: { url: `postgres://kai:${DB_PASSWORD}@db.internal:5432/kai` } } } });
});
afterAll(async () => {
  await server.dispose();
});

describe("GET /api/config", () => {
  it("answers the effective settings to an admin, the database password redacted and named", async () => {
    const response = await server.request("/api/config");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const text = await response.text();
    expect(text).not.toContain(DB_PASSWORD);
    const body = NodeConfigResponseSchema.parse(JSON.parse(text));
    const storage = body.config.storage as { kind: string; postgres: { url: string; poolSize: number } };
    expect(storage.kind).toBe("sqlite");
    // The rest of the URL stays readable: which host and database.
    expect(storage.postgres.url).toBe(`postgres://kai:${REDACTED_VALUE}@db.internal:5432/kai`);
    expect(storage.postgres.poolSize).toBe(10);
    expect(body.redacted).toContain("storage.postgres.url");
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(server.logs.join("\n")).not.toContain(DB_PASSWORD);
  });

  it("refuses a token without the admin scope and a request without a token", async () => {
    const token = await mintToken(server, ["services:read", "services:write", "vault:admin", "metrics:read"]);
    expect((await server.request("/api/config", { token })).status).toBe(403);
    expect((await server.request("/api/config", { token: null })).status).toBe(401);
  });
});

describe("redactConfig", () => {
  it("hides secret-named strings, URL passwords and secret query parameters, and keeps paths, references and numbers", () => {
    const paths: string[] = [];
    const out = redactConfig(
      {
        cache: { redis: { url: "redis://:r3dis-pass@cache:6379/0", keyPrefix: "kai:" } },
        future: { apiKey: "sk-live-123", webhookToken: "tok", clientPassword: "pw", nested: [{ privateKey: "pk" }] },
        vault: { keyDir: "/etc/kai/keys", passphraseIterations: 600000 },
        sso: { providers: [{ id: "corp", clientSecret: { vault: "sso/corp" } }] },
        hook: { url: "https://example.test/hook?access_token=abc&region=eu" },
        tracing: { otlpEndpoint: "http://user:pw2@collector.test/v1/traces?key=otlp-key-9&X-Amz-Signature=s1g&sslmode=require" },
        limits: { maxSubscribersPerToken: 5000 },
      },
      paths,
    ) as Record<string, Record<string, unknown>>;
    const text = JSON.stringify(out);
    for (const secret of ["r3dis-pass", "sk-live-123", '"tok"', '"pw"', '"pk"', "abc", "pw2", "otlp-key-9", "s1g"]) expect(text).not.toContain(secret);
    expect(String((out.tracing as { otlpEndpoint: string }).otlpEndpoint)).toContain("sslmode=require");
    expect(out.cache).toEqual({ redis: { url: `redis://:${REDACTED_VALUE}@cache:6379/0`, keyPrefix: "kai:" } });
    expect(out.vault).toEqual({ keyDir: "/etc/kai/keys", passphraseIterations: 600000 });
    expect(out.sso).toEqual({ providers: [{ id: "corp", clientSecret: { vault: "sso/corp" } }] });
    expect(String((out.hook as { url: string }).url)).toContain("region=eu");
    expect(out.limits).toEqual({ maxSubscribersPerToken: 5000 });
    expect(paths.sort()).toEqual(
      ["cache.redis.url", "future.apiKey", "future.clientPassword", "future.nested.0.privateKey", "future.webhookToken", "hook.url", "tracing.otlpEndpoint"].sort(),
    );
  });
});
