// The OpenAPI document: version 3.1, generated from the route schemas, listing every route of the issue
// (the seed's registry routes, tokens, status, health), bearer security on every protected route, and a
// readable docs page. An independent validator (not the generator's own code) checks the whole document,
// every `$ref` resolved, so that code generators can work from it. `/` leads to the docs.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { fetchOpenApi, isPublicPath, isSignatureAuthenticatedPath, routesOf, type OpenApiDoc } from "./support/api-surface.js";

/** The routes the issue names. The document may have more; it must not have fewer. */
const ISSUE_ROUTES = [
  "GET /healthz",
  "GET /api/status",
  "POST /api/services/register",
  "GET /api/services",
  "GET /api/services/{id}",
  "PATCH /api/services/{id}",
  "POST /api/services/{id}/heartbeat",
  "DELETE /api/services/{id}",
  "POST /api/tokens",
  "GET /api/tokens",
  "DELETE /api/tokens/{id}",
  "GET /ws/registry",
];

let server: TestServer;
let doc: OpenApiDoc;

beforeAll(async () => {
  server = await startTestServer();
  doc = await fetchOpenApi(server);
});
afterAll(async () => server.dispose());

describe("/openapi.json", () => {
  it("is OpenAPI 3.1 and needs no token", async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("is a valid OpenAPI 3.1 document by an independent validator, with every $ref resolved", async () => {
    // The document as served, not the parsed slice: the validator must see every byte a generator sees.
    const served: unknown = await (await fetch(`${server.url}/openapi.json`)).json();
    const validator = new Validator();
    const result = await validator.validate(served as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // Dereferencing throws on any `$ref` that points nowhere (a recursive schema's definition once went missing).
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it("names the recursive JSON value of service metadata as a component, and refers to it", () => {
    const schemas = (doc.components as { schemas?: Record<string, unknown> } | undefined)?.schemas ?? {};
    expect(Object.keys(schemas)).toContain("JsonValueInput");
    expect(JSON.stringify(doc.paths["/api/services/register"])).toContain('"$ref":"#/components/schemas/JsonValueInput"');
  });

  it("lists every route of the issue", () => {
    const keys = routesOf(doc).map((route) => route.key);
    for (const route of ISSUE_ROUTES) expect(keys, route).toContain(route);
  });

  it("declares bearer security on every protected route, and a 401 answer", () => {
    const schemes = doc.components?.securitySchemes ?? {};
    const bearerNames = Object.entries(schemes).filter(([, scheme]) => scheme.type === "http" && scheme.scheme?.toLowerCase() === "bearer").map(([name]) => name);
    expect(bearerNames.length).toBeGreaterThan(0);
    const protectedOnes = Object.entries(doc.paths).flatMap(([path, operations]) => (isPublicPath(path) || isSignatureAuthenticatedPath(path) ? [] : Object.entries(operations).map(([method, op]) => ({ key: `${method} ${path}`, op }))));
    expect(protectedOnes.length).toBeGreaterThanOrEqual(ISSUE_ROUTES.length - 1);
    for (const { key, op } of protectedOnes) {
      const names = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
      expect(names.some((name) => bearerNames.includes(name)), `${key} lacks bearer security`).toBe(true);
      expect(Object.keys(op.responses ?? {}), key).toContain("401");
    }
  });

  it("documents the request bodies and the discovery filters from the schemas", () => {
    const byKey = new Map(routesOf(doc).map((route) => [route.key, route]));
    for (const key of ["POST /api/services/register", "PATCH /api/services/{id}", "POST /api/tokens"]) expect(byKey.get(key)?.hasBody, key).toBe(true);
    const list = byKey.get("GET /api/services");
    for (const name of ["type", "tag", "capability", "provider", "owner", "status", "visibility", "q", "limit", "cursor"]) expect(list?.queryParams, name).toContain(name);
    for (const key of ["GET /api/services/{id}", "DELETE /api/tokens/{id}"]) expect(byKey.get(key)?.pathParams, key).toEqual(["id"]);
  });
});

describe("/docs", () => {
  it("is where / leads when the web app is turned off (no JSON 404 for someone who opens the server's address)", async () => {
    const bare = await startTestServer({ config: { web: { enabled: false } } });
    try {
      const response = await fetch(`${bare.url}/`, { redirect: "manual" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/docs");
      const followed = await fetch(`${bare.url}/`);
      expect(followed.status).toBe(200);
      expect(followed.headers.get("content-type")).toMatch(/text\/html/);
    } finally {
      await bare.dispose();
    }
  });

  it("serves a readable HTML page without a token", async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    const html = await response.text();
    expect(html.toLowerCase()).toContain("<html");
  });

  it("documents the WebSocket change stream with both message schemas, and plain HTTP to it gets 426", async () => {
    const entry = (doc.paths as Record<string, Record<string, Record<string, unknown>>>)["/ws/registry"]?.get;
    expect(entry?.["x-client-messages"]).toBeTruthy();
    expect(JSON.stringify(entry?.["x-server-messages"])).toContain("snapshot");
    const response = await server.request("/ws/registry");
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("upgrade_required");
  });
});
