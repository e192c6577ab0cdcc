/**
 * Params the A2A SDK's decoders cannot turn into text: a JSON object with its own `toString` or `valueOf` key where a
 * method expects an id. The node answers JSON-RPC -32602 (invalid params) naming where, never -32603 (an internal
 * error); free-form JSON (a data part's `data`, any `metadata`) may hold such keys.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { uncoercibleValueAt } from "../../../src/http/routes/a2a.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
});
afterAll(async () => {
  await server?.dispose();
});

async function rpc(method: string, params: unknown): Promise<{ error?: { code: number; message: string } }> {
  const response = await server.request("/a2a", { method: "POST", headers: { "A2A-Version": "1.0" }, json: { jsonrpc: "2.0", id: 1, method, params } });
  expect(response.status).toBe(200);
  return (await response.json()) as { error?: { code: number; message: string } };
}

describe("A2A params that cannot become text", () => {
  it("are -32602 naming the field, on every method that takes an id", async () => {
    for (const [method, params, path] of [
      ["GetTask", { id: { toString: [] } }, "params.id"],
      ["CancelTask", { id: { valueOf: 1 } }, "params.id"],
      ["CreateTaskPushNotificationConfig", { taskId: { toString: [] }, url: "https://example.org/" }, "params.taskId"],
      ["GetTaskPushNotificationConfig", { taskId: "t", id: { toString: "x" } }, "params.id"],
      ["SendMessage", { message: { messageId: { valueOf: {} }, role: "ROLE_USER", parts: [{ text: "hi" }] } }, "params.message.messageId"],
    ] as const) {
      const answer = await rpc(method, params);
      expect(answer.error?.code, method).toBe(-32602);
      expect(answer.error?.message, method).toContain(path);
    }
  });

  it("are looked for outside free-form JSON only", () => {
    expect(uncoercibleValueAt({ message: { parts: [{ data: { toString: "fine" } }], metadata: { valueOf: 1 } } })).toBeNull();
    expect(uncoercibleValueAt({ message: { parts: [{ text: { toString: [] } }] } })).toBe("params.message.parts.0.text");
    expect(uncoercibleValueAt(undefined)).toBeNull();
  });
});
