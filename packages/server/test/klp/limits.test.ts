// KLP's rule 7 rate limit, per sender DID (counted only after the signature holds, so nobody spends another
// sender's budget), and the cap on open /klp connections.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { expectKlpError, nodeDid, postEnvelope } from "./support.js";

let server: TestServer;
let did: string;

beforeAll(async () => {
  server = await startTestServer({ config: { klp: { messagesPerMinute: 3, maxSockets: 2 }, rateLimit: { enabled: false } } });
  did = await nodeDid(server);
});
afterAll(async () => server.dispose());

const discover = (sender: klp.KlpKeyPair) => klp.createEnvelope({ type: "service_discovery", to: did, payload: {} }, sender);

describe("KLP limits", () => {
  it("refuses a sender over its budget with KLP_RATE_LIMITED (429), while other senders go on", async () => {
    const busy = klp.generateKeyPair();
    for (let i = 0; i < 3; i++) expect((await postEnvelope(server, discover(busy))).status).toBe(200);
    expectKlpError(await postEnvelope(server, discover(busy)), did, "KLP_RATE_LIMITED", 429);
    expect((await postEnvelope(server, discover(klp.generateKeyPair()))).status).toBe(200);
  });

  it("does not charge a sender for messages forged in its name", async () => {
    const victim = klp.generateKeyPair();
    for (let i = 0; i < 5; i++) {
      const forged = { ...discover(victim), payload: { capabilities: ["llm_chat"] } };
      expectKlpError(await postEnvelope(server, forged), did, "KLP_BAD_SIGNATURE", 401);
    }
    expect((await postEnvelope(server, discover(victim))).status).toBe(200);
  });

  it("refuses connections beyond maxSockets with close code 1013", async () => {
    const url = `${server.url.replace("http", "ws")}/klp`;
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.once("open", () => resolve(socket));
        socket.once("error", reject);
      });
    const first = await open();
    const second = await open();
    const third = new WebSocket(url);
    const code = await new Promise<number>((resolve) => third.once("close", (closeCode) => resolve(closeCode)));
    expect(code).toBe(1013);
    first.close();
    await new Promise((resolve) => first.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await open();
    for (const socket of [second, again]) socket.close();
  });
});
