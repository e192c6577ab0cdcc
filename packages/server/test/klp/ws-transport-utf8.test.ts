// A KLP WebSocket frame that is not UTF-8 never reaches the acceptance rules as U+FFFD. `ws` closes such frames
// itself (1007) unless its validation is off; the transport decodes fatally as well, so that the rule holds
// whatever the socket's options. Checked with validation off, on a real socket pair.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { CLOSE_INVALID_PAYLOAD, WebSocketTransport } from "../../src/klp/ws-transport.js";

let wss: WebSocketServer | undefined;
afterEach(async () => {
  for (const socket of wss?.clients ?? []) socket.terminate();
  await new Promise((resolve) => wss?.close(resolve));
});

async function pair(): Promise<{ client: WebSocket; transport: WebSocketTransport }> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", skipUTF8Validation: true });
  wss = server;
  await new Promise((resolve) => server.once("listening", resolve));
  const accepted = new Promise<WebSocketTransport>((resolve) => server.once("connection", (socket) => resolve(new WebSocketTransport(socket))));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { skipUTF8Validation: true });
  await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
  return { client, transport: await accepted };
}

describe("KLP WebSocket frames", () => {
  it("close the connection (1007) on a text frame that is not UTF-8, delivering nothing", async () => {
    const { client, transport } = await pair();
    const seen: string[] = [];
    transport.onMessage((text) => seen.push(text));
    const closed = new Promise<number>((resolve) => client.once("close", (code) => resolve(code)));
    client.send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), { binary: false });
    expect(await closed).toBe(CLOSE_INVALID_PAYLOAD);
    expect(seen).toEqual([]);
    expect(transport.closed).toBe(true);
  });

  it("deliver a UTF-8 text frame as sent", async () => {
    const { client, transport } = await pair();
    const received = new Promise<string>((resolve) => transport.onMessage(resolve));
    client.send('{"t":"héllo 😀 \ufffd"}');
    expect(await received).toBe('{"t":"héllo 😀 \ufffd"}');
    client.close();
  });
});
