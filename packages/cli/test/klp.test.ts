/**
 * `kai klp grant` end to end: the printed grant lets the service's own key register over KLP, and a key the
 * grant was not issued for is refused with it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

beforeAll(async () => {
  server = await startTestServer();
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

async function registerWith(service: klp.KlpKeyPair, grant: klp.KlpTokenGrant, serviceId: string): Promise<number> {
  const node = klp.KlpNodeDocumentSchema.parse(await (await fetch(`${server.url}/.well-known/klp.json`)).json());
  const envelope = klp.createEnvelope(
    {
      type: "capability_announce",
      to: node.did,
      payload: { serviceId, host: "http://127.0.0.1:9/", capabilities: ["llm_chat"], version: "1.0.0", metadata: { name: serviceId } },
      auth: grant,
    },
    service,
  );
  const response = await fetch(`${server.url}/klp/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(envelope) });
  return response.status;
}

describe("kai klp grant", () => {
  it("prints a grant that lets that key, and only that key, register over KLP", async () => {
    const service = klp.generateKeyPair();
    const result = await kai(["klp", "grant", service.did, "--ttl", "3600"]);
    expect(result.code, result.stderr).toBe(0);
    const grant = klp.KlpTokenGrantSchema.parse(JSON.parse(result.stdout));
    expect(await registerWith(service, grant, "granted-svc")).toBe(200);
    expect(await registerWith(klp.generateKeyPair(), grant, "stolen-grant")).toBe(403);
  });

  it("refuses a malformed DID before asking the server (exit 2)", async () => {
    const result = await kai(["klp", "grant", "not-a-did"]);
    expect(result.code).toBe(2);
  });
});
