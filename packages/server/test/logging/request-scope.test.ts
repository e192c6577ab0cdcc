/**
 * Every line written while a request is served carries its id (logging/request-scope.ts), not only the request's own
 * line: what `kai logs tail --request <id>` and the Console's filter show. A backup taken by a POST with a JSON body (the
 * backup service's "backup taken" line, written after the body was read, by the node's logger); a vault secret written
 * and read (the vault's audit names the request itself: the field once, not twice); a line written outside any request
 * has none; the request's own line has the field once (its logger binds it; the mixin must not add it again).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
beforeAll(async () => {
  // Cheap key derivation: the test takes a real backup.
  server = await startTestServer({ config: { backup: { passphrase: "request scope test passphrase", kdfIterations: 10_000 } } });
});
afterAll(async () => {
  await server?.dispose();
});

const parsed = () => server.logs.map((line) => ({ text: line, line: JSON.parse(line) as Record<string, unknown> }));

it("puts the request's id on the lines its services write, once on its own line, and on no line outside a request", async () => {
  const put = await server.request("/api/vault/secrets/scope-test/value", { method: "PUT", json: { value: "a value" }, headers: { "x-request-id": "scope-put-1" } });
  expect(put.status).toBe(200);
  const get = await server.request("/api/vault/secrets/scope-test/value", { headers: { "x-request-id": "scope-get-1" } });
  expect(get.status).toBe(200);

  const backup = await server.request("/api/backups", { method: "POST", json: {}, headers: { "x-request-id": "scope-backup-1" } });
  expect(backup.status, await backup.clone().text()).toBe(201);

  for (const [requestId, operation] of [
    ["scope-backup-1", "backup taken"],
    ["scope-put-1", "security: vault.secret.put"],
    ["scope-get-1", "security: vault.secret.get"],
  ] as const) {
    // The request's own line is written once its answer is sent: waited for.
    const lines = await eventually(async () => {
      const found = parsed().filter(({ line }) => line.requestId === requestId);
      return found.some(({ line }) => line.msg === "request") ? found : undefined;
    });
    expect(lines.map(({ line }) => line.msg)).toContain(operation);
    // Each line has the field once: the request line's logger binds it, the service's lines get it from the scope.
    for (const { text } of lines) expect(text.split('"requestId":').length - 1, text).toBe(1);
  }
  // The node's start was served by no request: none of its lines names one.
  const started = parsed().find(({ line }) => line.msg === "security: vault.init");
  expect(started?.line).toBeDefined();
  expect(started!.line.requestId).toBeUndefined();
});
