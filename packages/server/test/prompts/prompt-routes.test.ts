/**
 * The prompt store's API end to end on a real node (SQLite): save (every save a new version), read by version and
 * label (an unknown label is 404, no fallback), history, diff, restore, labels, search, render with typed variables,
 * vault references only for tokens that may read the secret (and the secret never in a log line), owner and
 * visibility, delete.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, ListPromptsResponseSchema, ListPromptVersionsResponseSchema, PromptDiffSchema, PromptResponseSchema, RenderPromptResponseSchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let bob: string;
let reader: string;
let vaultReader: string;
let narrowVault: string;

const SECRET = "sk-prompt-secret-value-0451";

async function json<T>(response: Response, status: number, schema: { parse(value: unknown): T }): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return schema.parse(JSON.parse(text));
}

async function errorCode(response: Response, status: number): Promise<string> {
  return (await json(response, status, ErrorBodySchema)).error.code;
}

const put = (name: string, body: unknown, token = alice) => server.request(`/api/prompts/${name}`, { method: "PUT", json: body, token });
const render = (name: string, body: unknown, token = alice) => server.request(`/api/prompts/${name}/render`, { method: "POST", json: body, token });

beforeAll(async () => {
  server = await startTestServer();
  alice = await mintToken(server, ["prompts:read", "prompts:write"], "alice");
  bob = await mintToken(server, ["prompts:read", "prompts:write"], "bob");
  reader = await mintToken(server, ["prompts:read"], "carol");
  vaultReader = await mintToken(server, ["prompts:read", "prompts:write", "vault:read"], "alice");
  const narrow = await server.request("/api/tokens", { method: "POST", json: { scopes: ["prompts:read", "vault:read"], owner: "alice", secrets: ["other/*"] } });
  narrowVault = ((await narrow.json()) as { token: string }).token;
  const secret = await server.request("/api/vault/secrets/llm/key", { method: "PUT", json: { value: SECRET } });
  expect(secret.status, await secret.text()).toBeLessThan(300);
});
afterAll(async () => server.dispose());

describe("prompt store API", () => {
  it("saves versions, moves labels, and serves a version by number or label (an unknown label is 404)", async () => {
    const first = await json(await put("greeting", { template: "Hello {{name}}", variables: [{ name: "name" }], tags: ["demo"], description: "A greeting" }), 201, PromptResponseSchema);
    expect(first.version).toMatchObject({ version: 1, type: "text", author: "alice" });
    expect(first.prompt).toMatchObject({ owner: "alice", visibility: "private", labels: { latest: 1 } });
    const second = await json(await put("greeting", { template: "Hi {{name}}!", variables: [{ name: "name" }], labels: ["staging"] }), 200, PromptResponseSchema);
    expect(second.prompt.labels).toEqual({ latest: 2, staging: 2 });
    expect(second.prompt.tags).toEqual(["demo"]);

    const label = await json(await server.request("/api/prompts/greeting/labels/production", { method: "PUT", json: { version: 1 }, token: alice }), 200, { parse: (v: unknown) => v as { prompt: { labels: Record<string, number> } } });
    expect(label.prompt.labels).toEqual({ latest: 2, staging: 2, production: 1 });

    expect((await json(await server.request("/api/prompts/greeting", { token: alice }), 200, PromptResponseSchema)).version.version).toBe(2);
    expect((await json(await server.request("/api/prompts/greeting?label=production", { token: alice }), 200, PromptResponseSchema)).version.template).toBe("Hello {{name}}");
    expect((await json(await server.request("/api/prompts/greeting?version=2", { token: alice }), 200, PromptResponseSchema)).version.template).toBe("Hi {{name}}!");
    expect(await errorCode(await server.request("/api/prompts/greeting?label=canary", { token: alice }), 404)).toBe("not_found");
    expect(await errorCode(await server.request("/api/prompts/greeting?version=9", { token: alice }), 404)).toBe("not_found");
    expect(await errorCode(await server.request("/api/prompts/greeting?version=1&label=production", { token: alice }), 400)).toBe("validation_failed");
    expect(await errorCode(await server.request("/api/prompts/greeting/labels/latest", { method: "PUT", json: { version: 1 }, token: alice }), 400)).toBe("validation_failed");
    expect(await errorCode(await server.request("/api/prompts/greeting/labels/production", { method: "PUT", json: { version: 7 }, token: alice }), 404)).toBe("not_found");

    // A removed label is 404 from then on: no fallback to latest.
    const removed = await json(await server.request("/api/prompts/greeting/labels/staging", { method: "DELETE", token: alice }), 200, { parse: (v: unknown) => v as { prompt: { labels: Record<string, number> } } });
    expect(removed.prompt.labels).toEqual({ latest: 2, production: 1 });
    expect(await errorCode(await server.request("/api/prompts/greeting?label=staging", { token: alice }), 404)).toBe("not_found");
    expect(await errorCode(await server.request("/api/prompts/greeting/labels/staging", { method: "DELETE", token: alice }), 404)).toBe("not_found");
    expect(await errorCode(await server.request("/api/prompts/greeting/labels/latest", { method: "DELETE", token: alice }), 400)).toBe("validation_failed");
  });

  it("refuses a template that uses an undeclared variable or a default of the wrong type", async () => {
    const undeclared = await json(await put("bad", { template: "Hello {{name}} from {{city}}", variables: [{ name: "name" }] }), 422, ErrorBodySchema);
    expect(undeclared.error.code).toBe("prompt_template_invalid");
    expect(JSON.stringify(undeclared.error.details)).toContain("city");
    expect(await errorCode(await put("bad", { template: "{{n}}", variables: [{ name: "n", type: "number", default: "five" }] }), 422)).toBe("prompt_template_invalid");
    expect(await errorCode(await put("bad", { template: "{{vault:../etc}}" }), 422)).toBe("prompt_template_invalid");
    expect(await errorCode(await server.request("/api/prompts/bad", { token: alice }), 404)).toBe("not_found");
    // Braces that are not placeholders are text.
    expect((await put("literal", { template: 'JSON: {"a": {"b": 1}} and {{ not a placeholder }}' })).status).toBe(201);
  });

  it("lists history newest first, diffs two versions and restores an old one as a new version", async () => {
    await put("story", { template: "line one\nline two\nline three", variables: [] });
    await put("story", { template: "line one\nline 2\nline three\n{{end}}", variables: [{ name: "end", required: false }], message: "second" });
    const history = await json(await server.request("/api/prompts/story/versions?limit=1", { token: alice }), 200, ListPromptVersionsResponseSchema);
    expect(history.versions.map((version) => version.version)).toEqual([2]);
    expect(history.nextCursor).toBe("2");
    const older = await json(await server.request(`/api/prompts/story/versions?limit=5&cursor=${history.nextCursor}`, { token: alice }), 200, ListPromptVersionsResponseSchema);
    expect(older.versions.map((version) => version.version)).toEqual([1]);

    const diff = await json(await server.request("/api/prompts/story/diff?from=1&to=2", { token: alice }), 200, PromptDiffSchema);
    expect(diff.template).toEqual([
      { op: " ", text: "line one" },
      { op: "-", text: "line two" },
      { op: "+", text: "line 2" },
      { op: " ", text: "line three" },
      { op: "+", text: "{{end}}" },
    ]);
    expect(diff.variables).toEqual({ added: ["end"], removed: [], changed: [] });

    const restored = await json(await server.request("/api/prompts/story/restore", { method: "POST", json: { version: 1 }, token: alice }), 200, PromptResponseSchema);
    expect(restored.version).toMatchObject({ version: 3, restoredFrom: 1, template: "line one\nline two\nline three" });
    expect(restored.prompt.latestVersion).toBe(3);
  });

  it("renders typed variables with defaults and refuses missing, undeclared and ill-typed ones", async () => {
    await put("typed", {
      template: [{ role: "system", content: "Count {{n}}, strict {{strict}}, data {{data}}" }, { role: "user", content: "{{question}}{{suffix}}" }],
      variables: [
        { name: "n", type: "number" },
        { name: "strict", type: "boolean", default: false },
        { name: "data", type: "json", required: false },
        { name: "question" },
        { name: "suffix", required: false },
      ],
    });
    const rendered = await json(await render("typed", { variables: { n: 3, data: { a: [1] }, question: "Why {{vault:llm/key}}?" } }), 200, RenderPromptResponseSchema);
    expect(rendered).toEqual({
      name: "typed",
      version: 1,
      type: "chat",
      // A value that looks like a placeholder is text: a caller cannot reach a secret through a variable.
      messages: [{ role: "system", content: 'Count 3, strict false, data {"a":[1]}' }, { role: "user", content: "Why {{vault:llm/key}}?" }],
    });
    const refused = await json(await render("typed", { variables: { n: "3", extra: 1 } }), 422, ErrorBodySchema);
    expect(refused.error.code).toBe("prompt_variables_invalid");
    expect(refused.error.details?.map((detail) => detail.path).sort()).toEqual(["variables.extra", "variables.n", "variables.question"]);
    expect(await errorCode(await render("typed", { label: "production", variables: {} }), 404)).toBe("not_found");
  });

  it("renders vault references only for tokens that may read the secret, and never logs the secret", async () => {
    await put("with-secret", { template: "key={{vault:llm/key}} user={{who}}", variables: [{ name: "who" }] }, vaultReader);
    const rendered = await json(await render("with-secret", { variables: { who: "ann" } }, vaultReader), 200, RenderPromptResponseSchema);
    expect(rendered.text).toBe(`key=${SECRET} user=ann`);
    // Without vault:read, and with vault:read but outside the token's secret patterns: the vault's 403.
    expect(await errorCode(await render("with-secret", { variables: { who: "ann" } }, alice), 403)).toBe("forbidden");
    expect(await errorCode(await render("with-secret", { variables: { who: "ann" } }, narrowVault), 403)).toBe("forbidden");
    expect(server.logs.some((line) => line.includes(SECRET))).toBe(false);
  });

  it("keeps private prompts to their owner, lets shared ones be read, and only the owner change them", async () => {
    await put("alice-private", { template: "secret plan" });
    await put("alice-shared", { template: "public plan", visibility: "shared", tags: ["team"] });
    expect(await errorCode(await server.request("/api/prompts/alice-private", { token: bob }), 404)).toBe("not_found");
    expect((await server.request("/api/prompts/alice-shared", { token: bob })).status).toBe(200);
    expect(await errorCode(await put("alice-shared", { template: "hijack" }, bob), 403)).toBe("forbidden");
    // The name is taken (names are node-wide), without saying more.
    expect(await errorCode(await put("alice-private", { template: "hijack" }, bob), 409)).toBe("conflict");
    expect(await errorCode(await server.request("/api/prompts/alice-shared/labels/production", { method: "PUT", json: { version: 1 }, token: bob }), 403)).toBe("forbidden");
    expect(await errorCode(await server.request("/api/prompts/alice-shared", { method: "DELETE", token: bob }), 403)).toBe("forbidden");
    // A read-only token may read and render, not save.
    expect((await render("alice-shared", {}, reader)).status).toBe(200);
    expect(await errorCode(await put("carol-new", { template: "x" }, reader), 403)).toBe("forbidden");
    // An admin may change another's prompt; the owner stays.
    const byAdmin = await json(await server.request("/api/prompts/alice-private", { method: "PUT", json: { template: "admin edit" } }), 200, PromptResponseSchema);
    expect(byAdmin.prompt.owner).toBe("alice");
    expect(byAdmin.version.author).toBe("admin");

    const bobsList = await json(await server.request("/api/prompts?q=plan", { token: bob }), 200, ListPromptsResponseSchema);
    expect(bobsList.prompts.map((prompt) => prompt.name)).toEqual(["alice-shared"]);
    const tagged = await json(await server.request("/api/prompts?tag=team", { token: alice }), 200, ListPromptsResponseSchema);
    expect(tagged.prompts.map((prompt) => prompt.name)).toEqual(["alice-shared"]);
  });

  it("deletes a prompt with every version", async () => {
    await put("doomed", { template: "bye" });
    expect((await server.request("/api/prompts/doomed", { method: "DELETE", token: alice })).status).toBe(204);
    expect(await errorCode(await server.request("/api/prompts/doomed", { token: alice }), 404)).toBe("not_found");
    expect(await errorCode(await server.request("/api/prompts/doomed", { method: "DELETE", token: alice }), 404)).toBe("not_found");
  });
});
