/**
 * The HTTP+JSON binding's streams (`/a2a/rest/message:stream`) are the node's shared SSE streams like JSON-RPC's: a
 * `retry:` line first, bare StreamResponse frames, task events with `id: <taskId>:<seq>`, and an end when the caller's
 * token expires, told as `event: error` with A2A's AIP-193 error body (so neither a raw reader nor the OFFICIAL A2A JS
 * client with its REST transport takes a cut stream for a finished task). The task itself goes on.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SendMessageRequest } from "@a2a-js/sdk";
import { ClientFactory, RestTransportFactory } from "@a2a-js/sdk/client";
import { A2aRestErrorBodySchema, TaskSchema } from "@kai/protocol";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { HttpAgent } from "../kcore/http-agent.js";

let server: TestServer;
let agent: HttpAgent;
let alice: string;

/** A token that expires in `seconds` (its streams end then). */
async function shortToken(seconds: number): Promise<string> {
  const response = await server.request("/api/tokens", { method: "POST", json: { scopes: ["tasks:run", "agents:read"], owner: "alice", ttl: seconds } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

const slowMessage = () => ({ messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "slow" }], metadata: { kai: { capability: "slow_work" } } });

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const admin = await server.request("/api/tokens", { method: "POST", json: { scopes: ["tasks:run", "agents:read", "agents:write"], owner: "alice" } });
  alice = ((await admin.json()) as { token: string }).token;
  agent = await HttpAgent.start("kExecutor:rest-sse-slow", () => "hang");
  await agent.register(server, alice, ["slow_work"]);
});
afterAll(async () => {
  await server?.dispose();
  await agent?.close();
});

it("streams on the shared SSE base and ends with an AIP-193 error event when the token expires, the task still running", async () => {
  // 3 s: long enough for both streams to open on a busy machine, short enough to wait for.
  const token = await shortToken(3);
  const raw = server.request("/a2a/rest/message:stream", { method: "POST", token, headers: { "A2A-Version": "1.0" }, json: { message: slowMessage() } });
  const client = await new ClientFactory({
    transports: [new RestTransportFactory({ fetchImpl: (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), authorization: `Bearer ${token}` } }) })],
  }).createFromUrl(server.url);
  const seen: string[] = [];
  // Its outcome is taken at once (a rejection nobody listens to yet would be an unhandled rejection).
  const viaSdk = (async () => {
    for await (const event of client.sendMessageStream(SendMessageRequest.fromJSON({ message: slowMessage() }))) seen.push(event.payload?.$case ?? "");
  })().then(
    () => new Error("the official client's stream ended without an error"),
    (error: unknown) => error,
  );

  const response = await raw;
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const text = await response.text();
  expect(text.startsWith("retry: 2000\n\n")).toBe(true);
  const taskId = /"id":"(task_[0-9a-z]+)"/.exec(text)?.[1];
  expect(taskId).toBeDefined();
  expect(text).toMatch(new RegExp(`^id: ${taskId}:\\d+$`, "m"));
  expect(text).not.toContain("jsonrpc");
  const last = text.trim().split("\n\n").at(-1)!;
  expect(last).toContain("event: error");
  const body = A2aRestErrorBodySchema.parse(JSON.parse(last.split("data: ")[1]!));
  expect(body.error.message).toMatch(/time is up/);

  expect(String(await viaSdk)).toMatch(/time is up/);
  expect(seen[0]).toBe("task");

  // Only the stream ended: the task is still running.
  const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${taskId}`, { token: alice })).json()) as { task: unknown }).task);
  expect(task.state).toBe("working");
});
