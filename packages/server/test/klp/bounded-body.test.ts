// What a peer's HTTP answer may cost us: the node document and `POST /klp/message` answers are read up to a
// bound, announced or not, and the connection is dropped when a peer sends more; normal answers read as before;
// an answer that is not UTF-8 is refused, not read as U+FFFD.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { fetchNodeDocument } from "../../src/klp/peer-session.js";
import { HttpClientTransport } from "../../src/klp/http-transport.js";
import { MAX_PEER_ANSWER_BYTES, readBoundedText } from "../../src/klp/bounded-body.js";

const MiB = 1024 * 1024;
let server: Server;
let base = "";
/** Connections the server saw closed by the client before its answer was complete. */
let cutShort = 0;
/** How the server answers `/.well-known/klp.json` (always at the root of the node's URL). */
let documentMode: "announced" | "endless" = "announced";

/** Process warnings while this file runs: the padding writer once leaked a `close` listener per wait. */
const warnings: string[] = [];
process.on("warning", (warning) => warnings.push(warning.name));

/** Waits for `drain` or `close`, whichever comes first, and removes the other listener (left behind, 11 of them were a MaxListenersExceededWarning). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.once("drain", done).once("close", done);
  });
}

/** Writes `bytes` of JSON-ish padding with backpressure, so the server side costs no memory either. */
async function pad(res: ServerResponse, bytes: number): Promise<void> {
  const block = Buffer.alloc(64 * 1024, 0x20);
  for (let sent = 0; sent < bytes && !res.destroyed; sent += block.length) {
    if (!res.write(block)) await drainedOrClosed(res);
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.on("close", () => {
      if (!res.writableFinished) cutShort++;
    });
    const path = req.url ?? "";
    if (path === "/.well-known/klp.json" && documentMode === "announced") {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(100 * MiB) });
      void pad(res, 100 * MiB);
    } else if (path === "/.well-known/klp.json" || path === "/endless/klp/message") {
      res.writeHead(200, { "content-type": "application/json" });
      void pad(res, 200 * MiB).then(() => res.end());
    } else if (path === "/not-utf8") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])); // {"a":"<0xff>"}
    } else if (path === "/small") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("\uFEFF{\"ok\":true}");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function refusal(promise: Promise<unknown>): Promise<klp.KlpError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(klp.KlpError);
  return error as klp.KlpError;
}

describe("bounded peer answers", () => {
  it("refuses a node document whose announced length is too large, before reading it", async () => {
    documentMode = "announced";
    const error = await refusal(fetchNodeDocument(base));
    expect(error.code).toBe("KLP_MALFORMED");
    expect(error.message).toMatch(/node document is larger than 65536 bytes/);
  });

  it("stops reading an endless node document at the bound and drops the connection", async () => {
    const before = cutShort;
    documentMode = "endless";
    const error = await refusal(fetchNodeDocument(base));
    expect(error.code).toBe("KLP_MALFORMED");
    expect(error.message).toMatch(/larger than/);
    await expect.poll(() => cutShort).toBeGreaterThan(before);
  });

  it("refuses a KLP message answer larger than a WebSocket frame may be", async () => {
    const transport = new HttpClientTransport(`${base}/endless/klp/message`, { timeoutMs: 20_000 });
    const seen: string[] = [];
    transport.onMessage((text) => seen.push(text));
    const error = await refusal(transport.send("{}"));
    expect(error.message).toContain(String(MAX_PEER_ANSWER_BYTES));
    expect(seen).toEqual([]);
    await transport.close();
  });

  it("reads an answer within the bound as response.text() would (a leading BOM dropped)", async () => {
    expect(await readBoundedText(await fetch(`${base}/small`), "an answer", 64)).toBe('{"ok":true}');
    await expect(readBoundedText(await fetch(`${base}/small`), "an answer", 8)).rejects.toThrow(/larger than 8 bytes/);
  });

  it("refuses an answer that is not UTF-8 (KLP_MALFORMED) instead of handing the rules U+FFFD", async () => {
    const error = await refusal(readBoundedText(await fetch(`${base}/not-utf8`), "the peer's answer"));
    expect(error.code).toBe("KLP_MALFORMED");
    expect(error.message).toBe("the peer's answer is not valid UTF-8");
  });

  it("wrote all that padding without leaking listeners (no MaxListenersExceededWarning)", async () => {
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});
