// Secrets never reach a log line or an error body. A canary secret and every real token (the admin token and
// minted ones) travel everywhere a secret can travel in this issue — bearer header, `?token=` on the
// WebSocket, a raw credential in a registration, an X-Request-Id, a share link's token in the path (opened, mistyped,
// with a doubled slash or dot segments, refused by the router) — and must then appear in no captured log line, not in the log files under <dataDir>/logs/
// (system, security, agents), and in no error response. Also: the request log has exactly one line
// per request with its id, method, route, status and duration, and the X-Request-Id rules hold.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ErrorBodySchema } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { generateRequestId, installRequestLog, lazyChildLogger } from "../../src/http/request-log.js";

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

/**
 * The status of a GET of `path` exactly as given: fetch resolves dot segments (`/./s/…`, `/%2e/s/…`) before sending,
 * as browsers do; `curl --path-as-is` and other clients do not.
 */
function sendPathAsIs(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${server.url}/`, { path }, (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    outgoing.once("error", reject);
    outgoing.end();
  });
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

  // A share link's token is a credential in the path (whoever holds it downloads the file): opened, with a trailing
  // slash (no route matches), with a malformed escape and over the router's length (refused before any route).
  const uploaded = await send("/api/artifacts?name=shared.txt", { method: "POST", body: "shared bytes", headers: { "content-type": "text/plain" } });
  expect(uploaded.status, await uploaded.clone().text()).toBe(201);
  const artifactId = ((await uploaded.json()) as { artifact: { id: string } }).artifact.id;
  const shared = await send(`/api/artifacts/${artifactId}/share`, { method: "POST", json: {} });
  expect(shared.status).toBe(201);
  const sharePath = ((await shared.json()) as { share: { path: string } }).share.path;
  const shareToken = sharePath.slice("/s/".length);
  // The token, and its signature alone (a cut token still leaks it).
  secrets.push(shareToken, shareToken.split(".")[1]!);
  expect((await send(sharePath, { token: null })).status).toBe(200);
  expect((await send(`${sharePath}/`, { token: null })).status).toBe(404);
  // Through a base URL ending in `/` (the router keeps the doubled slash: no route), sent or encoded.
  expect((await send(`/${sharePath}`, { token: null })).status).toBe(404);
  expect((await send(`/%2F${sharePath.slice(1)}`, { token: null })).status).toBe(404);
  // Through dot segments, sent as they are (a proxy in front may resolve them to the share route).
  expect(await sendPathAsIs(`/.${sharePath}`)).toBe(404);
  expect(await sendPathAsIs(`/x/..${sharePath}`)).toBe(404);
  expect((await send(`${sharePath}%zz`, { token: null })).status).toBe(400);
  expect((await send(`${sharePath}${"x".repeat(300)}`, { token: null })).status).toBe(400);
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
    // The share link's eight requests were logged, each with the token masked (the route pattern kept when one matched).
    const shareLines = server.logs.map((line) => JSON.parse(line) as LogLine & { path?: string }).filter((line) => line.msg === "request" && line.path === "/s/[redacted]");
    // In any order: the download's line is written when its body is sent, which the next request does not wait for.
    expect(shareLines.map((line) => `${line.route} ${line.status}`).sort()).toEqual(["/s/:token 200", "null 400", "null 400", "null 404", "null 404", "null 404", "null 404", "null 404"]);
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

  async function lineOf(response: Response): Promise<LogLine & { path?: string; serviceId?: string; closedEarly?: boolean; unfinished?: boolean }> {
    const id = response.headers.get("x-request-id")!;
    const [line] = await eventually(async () => {
      const found = requestLines(id);
      return found.length ? found : null;
    });
    return line!;
  }

  it("names the registered service on a registration's line: the body's id, or the one the node chose", async () => {
    const named = await fresh.request("/api/services/register", { method: "POST", json: registration({ id: "reg-named" }) });
    expect(named.status).toBe(201);
    expect(await lineOf(named)).toMatchObject({ route: "/api/services/register", status: 201, serviceId: "reg-named" });
    const again = await fresh.request("/api/services/register", { method: "POST", json: registration({ id: "reg-named" }) });
    expect(await lineOf(again)).toMatchObject({ status: 200, serviceId: "reg-named" });
    const unnamed = await fresh.request("/api/services/register", { method: "POST", json: registration() });
    expect(unnamed.status).toBe(201);
    const chosen = ((await unnamed.clone().json()) as { id: string }).id;
    expect(await lineOf(unnamed)).toMatchObject({ status: 201, serviceId: chosen });
    // A refused registration is about the service it named; an id that is no identifier is not repeated.
    const refused = await fresh.request("/api/services/register", { method: "POST", json: registration({ id: "reg-refused", capabilities: "not a list" }) });
    expect(refused.status).toBe(400);
    expect(await lineOf(refused)).toMatchObject({ status: 400, serviceId: "reg-refused" });
    const odd = await fresh.request("/api/services/register", { method: "POST", json: registration({ id: "not an id <x>" }) });
    expect(odd.status).toBe(400);
    expect((await lineOf(odd)).serviceId).toBeUndefined();
    // What `kai logs tail --service` reads: the registration is among the service's lines.
    const listed = (await (await fresh.request("/api/logs?serviceId=reg-named&limit=1000")).json()) as { entries: Array<{ fields: { route?: string; status?: number } }> };
    expect(listed.entries.filter((entry) => entry.fields.route === "/api/services/register").map((entry) => entry.fields.status)).toEqual([201, 200]);
  });

  it("logs a request the router refuses before any route, saying why: a path too long is not malformed", async () => {
    const long = await fresh.request(`/api/services/${"a".repeat(3000)}`);
    expect(long.status).toBe(400);
    expect(ErrorBodySchema.parse(await long.clone().json()).error).toMatchObject({ code: "validation_failed", message: "a path segment is longer than 256 characters" });
    const longLine = await lineOf(long);
    expect(longLine).toMatchObject({ method: "GET", route: null, status: 400 });
    // A path is cut in the line: a request line stays short whatever was sent.
    expect(longLine.path!.length).toBeLessThanOrEqual(1025);
    const malformed = await fresh.request("/api/services/%zz");
    expect(malformed.status).toBe(400);
    expect(ErrorBodySchema.parse(await malformed.clone().json()).error.message).toBe("malformed request URL (an invalid percent-encoding)");
    expect(await lineOf(malformed)).toMatchObject({ route: null, path: "/api/services/%zz", status: 400 });
  });

  it("logs a stream its client closed, once, as closed early", async () => {
    const controller = new AbortController();
    const response = await fetch(`${fresh.url}/api/logs/stream`, { headers: { authorization: `Bearer ${fresh.adminToken}` }, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const line = await lineOf(response);
    expect(line).toMatchObject({ route: "/api/logs/stream", status: 200, closedEarly: true });
    expect(line.unfinished).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requestLines(response.headers.get("x-request-id")!)).toHaveLength(1);
    // A streamed answer read to its end (a download) is logged once, as any answer, without the mark.
    const uploaded = await fresh.request("/api/artifacts?name=whole.bin", { method: "POST", body: randomBytes(256 * 1024), headers: { "content-type": "application/octet-stream" } });
    expect(uploaded.status).toBe(201);
    const { id } = ((await uploaded.json()) as { artifact: { id: string } }).artifact;
    const download = await fresh.request(`/api/artifacts/${id}/content`);
    expect((await download.arrayBuffer()).byteLength).toBe(256 * 1024);
    expect(await lineOf(download)).toMatchObject({ route: "/api/artifacts/:id/content", status: 200 });
    expect((await lineOf(download)).closedEarly).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requestLines(download.headers.get("x-request-id")!)).toHaveLength(1);
  });

  it("tells a stream the node broke off (unfinished) from one whose client left (closed early, also by a reset)", async () => {
    // The request log on an app of its own: no route of the node's fails a stream on demand.
    const lines: Array<LogLine & { closedEarly?: boolean; unfinished?: boolean }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(text) as LogLine);
        done();
      },
    });
    const logger = pino(sink);
    // As http/app.ts makes it: Fastify's own request lines off, the request log's line instead.
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }), childLoggerFactory: lazyChildLogger, genReqId: generateRequestId });
    installRequestLog(app, logger);
    const streaming = (fail: boolean) => (_request: FastifyRequest, reply: FastifyReply) => {
      const body = new PassThrough();
      body.write("first chunk\n");
      if (fail) setTimeout(() => body.destroy(new Error("the source failed")), 50);
      return reply.type("text/plain").send(body);
    };
    app.get("/fails", streaming(true));
    app.get("/endless", streaming(false));
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const failing = await fetch(`http://127.0.0.1:${port}/fails`);
      expect(failing.status).toBe(200);
      await expect(failing.text()).rejects.toThrow();
      // The client stays until the node breaks the stream off: the line is marked unfinished, not closed early.
      const broken = await eventually(async () => lines.find((line) => line.msg === "request" && line.route === "/fails") ?? null);
      expect(broken).toMatchObject({ status: 200, unfinished: true });
      expect(broken.closedEarly).toBeUndefined();
      // A client that resets its connection went away as much as one that closed it.
      const socket = connect(port, "127.0.0.1");
      socket.write("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
      await once(socket, "data");
      socket.resetAndDestroy();
      const left = await eventually(async () => lines.find((line) => line.msg === "request" && line.route === "/endless") ?? null);
      expect(left).toMatchObject({ status: 200, closedEarly: true });
      expect(left.unfinished).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lines.filter((line) => line.msg === "request")).toHaveLength(2);
    } finally {
      await app.close();
    }
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
