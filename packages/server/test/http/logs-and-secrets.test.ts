// Secrets never reach a log line or an error body. A canary secret and every real token (the admin token and
// minted ones) travel everywhere a secret can travel in this issue — bearer header, `?token=` on the
// WebSocket, a raw credential in a registration, an X-Request-Id — and must then appear in no captured log
// line, not in the log files under <dataDir>/logs/ (system, security, agents), and in no error response. Also: the request log has exactly one line
// per request with its id, method, route, status and duration, and the X-Request-Id rules hold.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ErrorBodySchema } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

const CANARY = `kai-canary-${randomBytes(8).toString("hex")}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: TestServer;
let alice: string;
let reader: string;
let closed = false;
/** Tokens created during the test, beyond the ones named above. */
const secrets: string[] = [];
/** Every error body the server sent during the test. */
const errorBodies: string[] = [];

interface LogLine {
  msg?: string;
  requestId?: string;
  method?: string;
  route?: string | null;
  status?: number;
  durationMs?: number;
}

async function send(path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}): Promise<Response> {
  const response = await server.request(path, init);
  if (response.status >= 400) errorBodies.push(await response.clone().text());
  return response;
}

/** Opens a WebSocket; resolves with 101 once open (and closes it), or the refusing HTTP status. */
function openSocket(query: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws/registry${query}`, { headers });
    socket.once("open", () => {
      socket.send(JSON.stringify({ type: "subscribe" }));
      socket.once("message", () => {
        socket.close();
        resolve(101);
      });
    });
    socket.once("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => {
        errorBodies.push(body);
        resolve(response.statusCode ?? 0);
      });
    });
    socket.once("error", (error) => {
      if (!String(error.message).includes("Unexpected server response")) reject(error);
    });
  });
}

beforeAll(async () => {
  server = await startTestServer();
  alice = await mintToken(server, ["services:read", "services:write"], "alice");
  reader = await mintToken(server, ["services:read"], "reader");

  // Send the secrets everywhere they can travel.
  expect((await send("/api/services", { token: CANARY })).status).toBe(401);
  expect((await send("/api/services", { token: null, headers: { authorization: `Basic ${CANARY}` } })).status).toBe(401);
  expect((await send(`/api/services?token=${CANARY}`, { token: alice })).status).toBe(400);
  expect((await send(`/api/services?q=${CANARY}`, { token: alice })).status).toBe(200);
  expect(await openSocket(`?token=${CANARY}`)).toBe(401);
  expect(await openSocket(`?token=${encodeURIComponent(reader)}`)).toBe(101);
  expect(await openSocket("", { authorization: `Bearer ${alice}` })).toBe(101);
  expect(await openSocket(`?token=${encodeURIComponent(server.adminToken)}`)).toBe(101);
  // auth.token is accepted and moved into the vault (only the reference is kept); the others are refused.
  expect((await send("/api/services/register", { method: "POST", json: registration({ auth: { type: "bearer_token", token: CANARY } }), token: alice })).status).toBe(201);
  const rawCredentials = [
    registration({ auth: { type: "api_key", apiKey: CANARY } }),
    registration({ metadata: { apiKey: CANARY } }),
    registration({ metadata: { nested: [{ password: CANARY }] } }),
    registration({ auth: { type: "basic", credentialRef: CANARY } }),
  ];
  for (const body of rawCredentials) expect((await send("/api/services/register", { method: "POST", json: body, token: alice })).status).toBe(400);
  expect((await send("/api/services/register", { method: "POST", json: registration({ id: "s-1" }), token: alice })).status).toBe(201);
  expect((await send("/api/services/s-1", { method: "PATCH", json: { metadata: { secret: CANARY } }, token: alice })).status).toBe(400);
  expect((await send("/api/services/s-1", { token: null, headers: { authorization: `Bearer ${alice}`, "x-request-id": `${CANARY} <bad>` } })).status).toBe(200);
  expect((await send("/api/services/register", { method: "POST", body: `{"name":"${CANARY}",`, headers: { "content-type": "application/json" }, token: alice })).status).toBe(400);
  // A token revoked while in use: its text must not show up either.
  const minted = await send("/api/tokens", { method: "POST", json: { scopes: ["services:read"], owner: "temp", name: "not a secret" } });
  const temp = (await minted.json()) as { id: string; token: string };
  expect((await send("/api/status", { token: temp.token })).status).toBe(200);
  expect((await send(`/api/tokens/${temp.id}`, { method: "DELETE" })).status).toBe(204);
  expect((await send("/api/status", { token: temp.token })).status).toBe(401);
  secrets.push(temp.token);
});
afterAll(async () => {
  if (!closed) await server.close();
  rmSync(server.dataDir, { recursive: true, force: true });
});

function allSecrets(): string[] {
  return [CANARY, server.adminToken, alice, reader, ...secrets];
}

describe("secrets", () => {
  it("appear in no captured log line", async () => {
    await eventually(async () => server.logs.length > 10);
    expect(server.logs.length).toBeGreaterThan(10);
    for (const secret of allSecrets()) {
      const leaking = server.logs.filter((line) => line.includes(secret));
      expect(leaking, `secret ${secret.slice(0, 16)}… leaked into logs`).toEqual([]);
      // Tokens are JWTs: their signature part alone must not appear either (a truncated token still leaks it).
      const signature = secret.split(".")[2];
      if (signature) expect(server.logs.filter((line) => line.includes(signature))).toEqual([]);
    }
  });

  it("appear in no error response body", () => {
    expect(errorBodies.length).toBeGreaterThan(8);
    for (const body of errorBodies) {
      for (const secret of allSecrets()) expect(body.includes(secret), `error body leaks a secret: ${body.slice(0, 200)}`).toBe(false);
    }
    for (const body of errorBodies.filter((text) => text.startsWith("{"))) expect(ErrorBodySchema.safeParse(JSON.parse(body)).success, body).toBe(true);
  });

  it("appear nowhere in the log files under <dataDir>/logs/ after shutdown, whose system log holds the request log", async () => {
    await server.close();
    closed = true;
    const read = (folder: string) => readdirSync(join(server.dataDir, "logs", folder)).map((name) => readFileSync(join(server.dataDir, "logs", folder, name), "utf8")).join("");
    const system = read("system");
    expect(system).toContain('"msg":"request"');
    expect(system).toContain('"msg":"stopped"');
    const file = system + read("security") + read("agents");
    for (const secret of allSecrets()) expect(file.includes(secret), `secret ${secret.slice(0, 16)}… in a log file`).toBe(false);
    // The one place the admin token is written down is private to the node's user.
    expect(statSync(join(server.dataDir, "admin.token")).mode & 0o777).toBe(0o600);
  });
});

describe("request log and request ids", () => {
  let fresh: TestServer;
  beforeAll(async () => {
    fresh = await startTestServer();
  });
  afterAll(async () => fresh.dispose());

  function requestLines(requestId: string): LogLine[] {
    return fresh.logs.map((line) => JSON.parse(line) as LogLine).filter((line) => line.msg === "request" && line.requestId === requestId);
  }

  it("writes exactly one line per request with id, method, route, status and duration, matching X-Request-Id", async () => {
    const calls: Array<[string, RequestInit & { json?: unknown; token?: string | null }, number]> = [
      ["/healthz", { token: null }, 200],
      ["/api/status", {}, 200],
      ["/api/services", { token: null }, 401],
      ["/api/services/register", { method: "POST", json: registration({ id: "log-1" }) }, 201],
      ["/api/services/log-1", {}, 200],
      ["/api/services/log-1", { method: "PATCH", json: { description: "x" } }, 200],
      ["/api/services/missing", {}, 404],
      ["/api/nowhere", {}, 404],
      ["/api/services/log-1", { method: "DELETE" }, 204],
    ];
    for (const [path, init, status] of calls) {
      const response = await fresh.request(path, init);
      expect(response.status, path).toBe(status);
      const id = response.headers.get("x-request-id");
      expect(id, path).toBeTruthy();
      const lines = await eventually(async () => {
        const found = requestLines(id!);
        return found.length > 0 ? found : null;
      });
      // Give a duplicate line the chance to show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(requestLines(id!), `${init.method ?? "GET"} ${path}`).toHaveLength(1);
      const [line] = lines;
      expect(line).toMatchObject({ requestId: id, method: init.method ?? "GET", status });
      expect(typeof line!.durationMs).toBe("number");
      expect(line!.durationMs).toBeGreaterThanOrEqual(0);
      expect("route" in line!).toBe(true);
    }
  });

  it("logs the route pattern, not the concrete path with its query string", async () => {
    const response = await fresh.request("/api/services/some-id?token=should-not-be-logged");
    const id = response.headers.get("x-request-id")!;
    const [line] = await eventually(async () => {
      const found = requestLines(id);
      return found.length ? found : null;
    });
    expect(line!.route).toBe("/api/services/:id");
    expect(JSON.stringify(line)).not.toContain("should-not-be-logged");
  });

  it("honours a sane caller X-Request-Id and replaces an insane one", async () => {
    const sane = `trace-${randomBytes(4).toString("hex")}.span:1`;
    const honoured = await fresh.request("/api/status", { headers: { "x-request-id": sane } });
    expect(honoured.headers.get("x-request-id")).toBe(sane);
    await eventually(async () => requestLines(sane).length === 1);
    const errorResponse = await fresh.request("/api/services/missing", { headers: { "x-request-id": `${sane}-2` } });
    expect(ErrorBodySchema.parse(await errorResponse.json()).error.requestId).toBe(`${sane}-2`);

    for (const insane of ["has space", "x".repeat(129), 'quote"inject', "<script>", "a/b", "semi;colon", "tab\tinside"]) {
      const response = await fresh.request("/api/status", { headers: { "x-request-id": insane } });
      const given = response.headers.get("x-request-id")!;
      expect(given, insane).toMatch(UUID);
      await eventually(async () => requestLines(given).length === 1);
    }
  });
});
