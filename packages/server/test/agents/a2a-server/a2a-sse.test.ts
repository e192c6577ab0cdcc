/**
 * The A2A endpoint's streams are the node's shared SSE streams (http/sse-stream.ts): a `retry:` line first, task
 * events with `id: <taskId>:<seq>`, and an end when the caller's token expires, told as an `error` event (so neither
 * a raw reader nor the OFFICIAL A2A JS client takes a cut stream for a finished task). The task itself goes on.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SendMessageRequest } from "@a2a-js/sdk";
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from "@a2a-js/sdk/client";
import { TaskSchema } from "@kai/protocol";
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
  agent = await HttpAgent.start("kExecutor:sse-slow", () => "hang");
  await agent.register(server, alice, ["slow_work"]);
});
afterAll(async () => {
  await server?.dispose();
  await agent?.close();
});

it("streams on the shared SSE base and ends with an error event when the token expires, the task still running", async () => {
  const token = await shortToken(2);
  const raw = server.request("/a2a", {
    method: "POST",
    token,
    headers: { "A2A-Version": "1.0" },
    json: { jsonrpc: "2.0", id: 7, method: "SendStreamingMessage", params: { message: slowMessage() } },
  });
  // The official client sees the same cut as an error, not as the end of the task.
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), authorization: `Bearer ${token}` } }) })],
    }),
  );
  const client = await factory.createFromUrl(server.url);
  const seen: string[] = [];
  // Its outcome is taken at once: the stream may end (the token expires) before the raw request's checks below are
  // done, and a rejection nobody listens to yet is an unhandled rejection, which fails the run.
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
  const last = text.trim().split("\n\n").at(-1)!;
  expect(last).toContain("event: error");
  expect(last).toContain("time is up");
  expect(JSON.parse(last.split("data: ")[1]!)).toMatchObject({ jsonrpc: "2.0", id: 7, error: { code: -32603 } });

  expect(String(await viaSdk)).toMatch(/time is up/);
  expect(seen[0]).toBe("task");

  // Only the stream ended: the task is still running.
  const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${taskId}`, { token: alice })).json()) as { task: unknown }).task);
  expect(task.state).toBe("working");
});
