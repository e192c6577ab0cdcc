// GET /api/logs and GET /api/logs/stream against a real node: the recent lines with their filters, the live stream
// (server-sent events, resumable), admin only — and a canary secret (and every token) sent everywhere a secret can
// travel, through the gateway to a hostile upstream that echoes its credential, never appears in either. The same
// node's log files: logs/system, logs/security (vault access), logs/agents (a task's lines), retention applied at
// start to files the test dated back, and no canary in any file.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogEntrySchema, LogListResponseSchema, LogSearchResponseSchema, type LogEntry } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";

const CANARY = `kai-canary-${randomBytes(8).toString("hex")}`;

let server: TestServer;
let fake: FakeUpstream;
let closed = false;
const dataDir = mkdtempSync(join(tmpdir(), "kai-logs-api-"));
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString().slice(0, 10);
/** Files dated before the test: past the default 30 days' retention, and within it. */
const expiredFiles = [join("system", `system-${daysAgo(45)}.log`), join("security", `security-${daysAgo(31)}.1.log`)];
const keptFiles = [join("system", `system-${daysAgo(29)}.log`), join("agents", `agents-${daysAgo(3)}.log`)];

/** A live SSE reader: everything received so far, parsed into events. */
interface OpenStream {
  text(): string;
  entries(): LogEntry[];
  close(): void;
}

async function openStream(query = "", headers: Record<string, string> = {}, token = server.adminToken): Promise<OpenStream> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/logs/stream${query}`, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  let received = "";
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    text: () => received,
    entries: () =>
      received
        .split("\n\n")
        .filter((block) => block.includes("event: log"))
        .map((block) => LogEntrySchema.parse(JSON.parse(block.split("\n").find((line) => line.startsWith("data: "))!.slice(6)))),
    close: () => controller.abort(),
  };
}

async function list(query = "", token = server.adminToken) {
  const response = await server.request(`/api/logs${query}`, { token });
  expect(response.status, await response.clone().text()).toBe(200);
  return LogListResponseSchema.parse(await response.json());
}

beforeAll(async () => {
  for (const file of [...expiredFiles, ...keptFiles]) {
    mkdirSync(join(dataDir, "logs", file, ".."), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, "logs", file), '{"msg":"from before"}\n');
  }
  server = await startTestServer({ keepDataDir: dataDir });
  fake = await startOpenAIFake();
});
afterAll(async () => {
  if (!closed) await server?.dispose();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("GET /api/logs", () => {
  it("lists the request lines the node wrote, filtered by request id, level and text", async () => {
    expect((await server.request("/api/status", { headers: { "x-request-id": "logs-test-status" } })).status).toBe(200);
    const mine = await eventually(async () => {
      const { entries } = await list("?requestId=logs-test-status");
      return entries.length > 0 ? entries : undefined;
    });
    expect(mine.every((entry) => entry.requestId === "logs-test-status")).toBe(true);
    expect(mine.some((entry) => entry.fields.route === "/api/status" && entry.fields.status === 200)).toBe(true);

    const all = await list("?limit=1000");
    expect(all.entries.length).toBeGreaterThan(1);
    expect(all.capacity).toBeGreaterThan(100);
    // Oldest first, each seq once.
    const seqs = all.entries.map((entry) => entry.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);

    const warnings = await list("?level=warn&limit=1000");
    expect(warnings.entries.every((entry) => ["warn", "error", "fatal"].includes(entry.level))).toBe(true);
    expect(warnings.entries.length).toBeLessThan(all.entries.length);

    const text = await list("?q=LOGS-TEST-STATUS");
    expect(text.entries.length).toBeGreaterThan(0);
    expect(text.entries.every((entry) => entry.requestId === "logs-test-status")).toBe(true);

    const two = await list("?limit=2");
    expect(two.entries[1]!.seq).toBeGreaterThan(two.entries[0]!.seq);
    expect(two.entries).toHaveLength(2);
  });

  it("refuses a bad filter with validation_failed", async () => {
    for (const query of ["level=loud", "since=yesterday", "since=2026-13-01T00:00:00Z"]) {
      const response = await server.request(`/api/logs?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
  });

  it("lists only the lines written since a time", async () => {
    expect((await server.request("/api/status", { headers: { "x-request-id": "logs-since-before" } })).status).toBe(200);
    const before = await eventually(async () => {
      const { entries } = await list("?requestId=logs-since-before");
      return entries.length > 0 ? entries : undefined;
    });
    // A time after the first request's lines, then a second request.
    const since = new Date(Date.parse(before.at(-1)!.time) + 1).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await server.request("/api/status", { headers: { "x-request-id": "logs-since-after" } })).status).toBe(200);
    const after = await eventually(async () => {
      const { entries } = await list(`?q=logs-since-&since=${since}`);
      return entries.some((entry) => entry.requestId === "logs-since-after") ? entries : undefined;
    });
    expect(after.every((entry) => entry.requestId === "logs-since-after" && entry.time >= since)).toBe(true);
  });

  it("on a node of one instance, instance=<its name> lists its lines and another name is not found, list and stream", async () => {
    const { instance } = (await (await server.request("/api/cluster")).json()) as { instance: { name: string } };
    expect((await server.request("/api/status", { headers: { "x-request-id": "logs-test-by-name" } })).status).toBe(200);
    const named = await eventually(async () => {
      const { entries } = await list(`?requestId=logs-test-by-name&instance=${encodeURIComponent(instance.name)}`);
      return entries.length > 0 ? entries : undefined;
    });
    expect(named.every((entry) => entry.requestId === "logs-test-by-name" && entry.relayed === undefined)).toBe(true);
    for (const path of ["/api/logs?instance=another-instance", "/api/logs/stream?instance=another-instance"]) {
      const response = await server.request(path);
      expect(response.status, path).toBe(404);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("not_found");
      expect(body.error.message).toContain('no live instance is named "another-instance"');
    }
    expect((await server.request(`/api/logs?instance=${"x".repeat(201)}`)).status).toBe(400);
  });

  it("is for admins only, list and stream", async () => {
    const operator = await mintToken(server, ["services:read", "services:write", "vault:admin", "metrics:read", "gateway:invoke"], "operator");
    for (const path of ["/api/logs", "/api/logs/stream"]) {
      const response = await server.request(path, { token: operator });
      expect(response.status, path).toBe(403);
      expect((await server.request(path, { token: null })).status, path).toBe(401);
    }
  });
});

describe("GET /api/logs/stream", () => {
  it("sends new lines as they are written, with the filters, and resumes after Last-Event-ID", async () => {
    const stream = await openStream("?requestId=logs-stream-1");
    expect((await server.request("/api/services", { headers: { "x-request-id": "logs-stream-1" } })).status).toBe(200);
    expect((await server.request("/api/services", { headers: { "x-request-id": "logs-stream-other" } })).status).toBe(200);
    const seen = await eventually(async () => (stream.entries().length > 0 ? stream.entries() : undefined));
    expect(seen.every((entry) => entry.requestId === "logs-stream-1")).toBe(true);
    expect(seen.some((entry) => entry.fields.route === "/api/services")).toBe(true);
    stream.close();

    // A reconnect after the last seen line gets only what came later.
    const last = seen.at(-1)!.seq;
    expect((await server.request("/api/services", { headers: { "x-request-id": "logs-stream-1" } })).status).toBe(200);
    const resumed = await openStream("?requestId=logs-stream-1", { "last-event-id": String(last) });
    const later = await eventually(async () => (resumed.entries().length > 0 ? resumed.entries() : undefined));
    expect(later.every((entry) => entry.seq > last)).toBe(true);
    resumed.close();
  });

  it("ends when the caller's token expires, so that access is checked again on the reconnect", async () => {
    const created = await server.request("/api/tokens", { method: "POST", json: { scopes: ["admin"], owner: "brief", ttl: "2s" } });
    expect(created.status, await created.clone().text()).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const response = await fetch(`${server.url}/api/logs/stream`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    // Reading to the end returns: the node closed the stream (the test's own timeout is the bound).
    const text = await response.text();
    expect(text).toContain("retry:");
    expect((await fetch(`${server.url}/api/logs/stream`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it("never carries a canary secret or a token, even through a hostile upstream", async () => {
    const stream = await openStream();
    const reader = await mintToken(server, ["services:read", "gateway:invoke"], "reader");
    // The canary as a credential everywhere it can travel.
    expect((await server.request("/api/services", { token: CANARY })).status).toBe(401);
    expect((await server.request("/api/services", { token: null, headers: { authorization: `Basic ${CANARY}` } })).status).toBe(401);
    expect((await server.request(`/api/services?token=${CANARY}`, { token: reader })).status).toBe(400);
    expect((await server.request("/api/vault/secrets/logs-canary", { method: "PUT", json: { value: CANARY } })).status).toBeLessThan(300);
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ metadata: { apiKey: CANARY } }) })).status).toBe(400);
    // A service whose credential is the canary, behind an upstream that echoes it back in every error.
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id: "logs-echo", url: fake.url, auth: { type: "bearer_token", token: CANARY } }),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    for (const encoding of ["raw", "base64", "percent"] as const) {
      fake.scenario = { kind: "echo-credential", encoding };
      const answer = await server.request("/v1/chat/completions", { method: "POST", token: reader, json: { model: "logs-echo/gpt-fake", messages: [{ role: "user", content: "hi" }] } });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    fake.scenario = { kind: "ok" };
    expect(fake.echoes.length).toBeGreaterThan(0);
    // The end marker: once its line is in the stream, every line before it is too.
    expect((await server.request("/api/status", { headers: { "x-request-id": "logs-canary-end" } })).status).toBe(200);
    await eventually(async () => stream.entries().some((entry) => entry.requestId === "logs-canary-end"));
    stream.close();

    const listed = JSON.stringify(await list("?limit=1000"));
    const streamed = stream.text();
    // The same lines searched in the log files (GET /api/logs/search): the same redaction and scrub.
    const searchedResponse = await server.request("/api/logs/search?limit=1000");
    expect(searchedResponse.status).toBe(200);
    const searched = await searchedResponse.text();
    expect(searched).toContain("logs-canary-end");
    expect(stream.entries().length).toBeGreaterThan(5);
    // Not vacuous: the upstream's (redacted) echo reached the log, and so the stream.
    expect(stream.entries().some((entry) => entry.msg === "upstream refused the request" && String(entry.fields.message).includes("[redacted]"))).toBe(true);
    for (const secret of [CANARY, server.adminToken, reader, ...fake.echoes]) {
      expect(streamed.includes(secret), `stream leaks ${secret.slice(0, 16)}…`).toBe(false);
      expect(listed.includes(secret), `list leaks ${secret.slice(0, 16)}…`).toBe(false);
      expect(searched.includes(secret), `search leaks ${secret.slice(0, 16)}…`).toBe(false);
      const signature = secret.split(".")[2];
      if (signature) expect(streamed.includes(signature) || listed.includes(signature) || searched.includes(signature)).toBe(false);
    }
  });
});

describe("filters by task and service", () => {
  it("serviceId gives the gateway's lines about one service; taskId a task's lines; both checked like the others", async () => {
    // The canary test above routed to `logs-echo`, whose upstream refused each attempt.
    const echo = await list("?serviceId=logs-echo&limit=1000");
    expect(echo.entries.length).toBeGreaterThan(0);
    expect(echo.entries.every((entry) => entry.fields.serviceId === "logs-echo")).toBe(true);
    expect(echo.entries.some((entry) => entry.msg === "routed attempt failed")).toBe(true);
    expect((await list("?serviceId=no-such-service")).entries).toEqual([]);

    // The request lines about a service carry its id too: the registry's routes by their `:id`, a gateway request by
    // the service that answered it.
    const heartbeat = await server.request("/api/services/logs-echo/heartbeat", { method: "POST", json: {}, headers: { "x-request-id": "logs-service-heartbeat" } });
    expect(heartbeat.status).toBe(200);
    const read = await server.request("/api/services/logs-echo", { headers: { "x-request-id": "logs-service-get" } });
    expect(read.status).toBe(200);
    fake.scenario = { kind: "ok" };
    const routed = await server.request("/v1/chat/completions", { method: "POST", json: { model: "logs-echo/gpt-fake", messages: [{ role: "user", content: "hi" }] }, headers: { "x-request-id": "logs-service-routed" } });
    expect(routed.status, await routed.clone().text()).toBe(200);
    const wanted = ["logs-service-heartbeat", "logs-service-get", "logs-service-routed"];
    const aboutEcho = await eventually(async () => {
      const { entries } = await list("?serviceId=logs-echo&limit=1000");
      const ids = new Set(entries.map((entry) => entry.requestId));
      return wanted.every((id) => ids.has(id)) ? entries : undefined;
    });
    expect(aboutEcho.find((entry) => entry.requestId === "logs-service-heartbeat")?.fields.route).toBe("/api/services/:id/heartbeat");
    expect(aboutEcho.find((entry) => entry.requestId === "logs-service-routed")?.fields.route).toBe("/v1/chat/completions");
    // Other requests (a listing, another service) are not about it.
    expect(aboutEcho.some((entry) => entry.fields.route === "/api/services")).toBe(false);

    // A task for a capability nobody offers: kCore logs its failure with the task's id.
    const created = await server.request("/api/agent/task", { method: "POST", json: { goal: "nobody can", capability: "logs_api_nobody" } });
    expect(created.status, await created.clone().text()).toBeLessThan(300);
    const { id } = ((await created.json()) as { task: { id: string } }).task;
    const mine = await eventually(async () => {
      const { entries } = await list(`?taskId=${id}&limit=1000`);
      return entries.length > 0 ? entries : undefined;
    });
    expect(mine.every((entry) => entry.fields.taskId === id)).toBe(true);
    // Its failure is a warning, so `kai logs tail --level warn` (or a node at logging.level warn) shows it.
    const failed = await eventually(async () => (await list(`?taskId=${id}&level=warn&limit=1000`)).entries.find((entry) => entry.msg === "task finished"));
    expect(failed).toMatchObject({ level: "warn", fields: { state: "failed" } });
    const stream = await openStream(`?taskId=${encodeURIComponent(id)}&after=0`);
    await eventually(async () => stream.entries().length >= mine.length);
    expect(stream.entries().every((entry) => entry.fields.taskId === id)).toBe(true);
    stream.close();

    for (const query of [`?taskId=${"t".repeat(129)}`, "?serviceId=", `?serviceId=${"s".repeat(257)}`, "?taskId=a&taskId=b", "?task=x"]) {
      const response = await server.request(`/api/logs${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
  });
});

describe("GET /api/logs?log=security|agents", () => {
  const isSecurity = (entry: LogEntry) => entry.fields.category === "security";
  const isAgents = (entry: LogEntry) => ["taskId", "agent", "agentId", "planId"].some((key) => typeof entry.fields[key] === "string");

  it("lists the lines of the security log or the agents', as the files split them: list, stream and file search alike", async () => {
    const signIn = await server.request("/api/auth/login", { method: "POST", token: null, json: { username: "admin", password: "not the password" } });
    expect(signIn.status).toBe(401);
    const security = await eventually(async () => {
      const { entries } = await list("?log=security&limit=1000");
      return entries.some((entry) => entry.fields.event === "sign_in_failed") ? entries : undefined;
    });
    expect(security.every(isSecurity)).toBe(true);
    // Exactly the security lines among every line up to the newest listed (new lines may be written meanwhile).
    const newest = security[security.length - 1]!.seq;
    const every = (await list("?limit=1000")).entries.filter((entry) => entry.seq <= newest);
    expect(security.map((entry) => entry.seq)).toEqual(every.filter(isSecurity).map((entry) => entry.seq));

    // The task of the test above logged with its id: the agents' log, and no request line there.
    const agents = (await list("?log=agents&limit=1000")).entries;
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.every(isAgents)).toBe(true);
    expect(agents.some((entry) => entry.msg === "request")).toBe(false);
    // Combined with another filter, both apply.
    const failed = (await list("?log=security&q=sign_in_failed")).entries;
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((entry) => isSecurity(entry) && JSON.stringify(entry).includes("sign_in_failed"))).toBe(true);
    expect((await list("?log=agents&q=sign_in_failed")).entries).toEqual([]);

    const stream = await openStream("?log=security&after=0");
    await eventually(async () => stream.entries().some((entry) => entry.fields.event === "sign_in_failed"));
    expect(stream.entries().every(isSecurity)).toBe(true);
    stream.close();

    const searched = await server.request("/api/logs/search?log=security&limit=1000");
    expect(searched.status).toBe(200);
    const found = LogSearchResponseSchema.parse(await searched.json());
    expect(found.entries.some((entry) => entry.fields.event === "sign_in_failed")).toBe(true);
    expect(found.entries.every(isSecurity)).toBe(true);

    // `system` holds every line: it is no filter, and not a value.
    for (const query of ["?log=system", "?log=", "?log=Security", "?log=security&log=agents"]) {
      for (const path of ["/api/logs", "/api/logs/search"]) {
        const response = await server.request(`${path}${query}`);
        expect(response.status, `${path}${query}`).toBe(400);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
      }
    }
  });
});

describe("the log files", () => {
  const filesIn = (folder: string) => readdirSync(join(dataDir, "logs", folder)).map((name) => join(folder, name));
  const text = (file: string) => readFileSync(join(dataDir, "logs", file), "utf8");

  it("keep every line in logs/system, the security log and the agents' lines apart, no canary anywhere, and retention applied at start", async () => {
    // A failed sign-in with the canary as its password: the security log's line, without it.
    const signIn = await server.request("/api/auth/login", { method: "POST", token: null, json: { username: "admin", password: CANARY } });
    expect(signIn.status).toBe(401);
    await server.close();
    closed = true;
    // Retention ran at start: what was past 30 days is gone, the rest is untouched.
    for (const file of expiredFiles) expect(readdirSync(join(dataDir, "logs", file, "..")), file).not.toContain(file.split("/")[1]);
    for (const file of keptFiles) expect(text(file), file).toBe('{"msg":"from before"}\n');
    const today = new Date().toISOString().slice(0, 10);
    const current = (folder: string) => filesIn(folder).filter((file) => file.includes(today)).map(text).join("");

    const system = current("system");
    expect(system).toContain('"msg":"request"');
    expect(system).toContain('"msg":"stopped"');
    const security = current("security");
    const securityLines = security.trim().split("\n").map((line) => JSON.parse(line) as { category?: string; event?: string; operation?: string });
    expect(securityLines.every((line) => line.category === "security")).toBe(true);
    expect(securityLines.some((line) => line.event === "vault.access" && line.operation === "secret.put")).toBe(true);
    expect(securityLines.some((line) => line.event === "sign_in_failed")).toBe(true);
    const agents = current("agents");
    expect(agents).toContain('"taskId"');
    expect(agents).not.toContain('"msg":"request"');
    // Every security and agents line is in the system log too.
    for (const line of [...security.trim().split("\n"), ...agents.trim().split("\n")]) expect(system).toContain(line);

    for (const folder of ["system", "security", "agents"]) {
      expect(statSync(join(dataDir, "logs", folder)).mode & 0o777, folder).toBe(0o700);
      for (const file of filesIn(folder).filter((name) => name.includes(today))) expect(statSync(join(dataDir, "logs", file)).mode & 0o777, file).toBe(0o600);
    }
    const all = ["system", "security", "agents"].flatMap(filesIn).map(text).join("");
    for (const secret of [CANARY, server.adminToken, ...fake.echoes]) expect(all.includes(secret), `a log file leaks ${secret.slice(0, 16)}…`).toBe(false);
  });
});
