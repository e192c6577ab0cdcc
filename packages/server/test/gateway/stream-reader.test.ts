// Unit tests of the SSE and NDJSON readers over awkwardly split byte chunks, and of the body reader's idle timeout
// (only waits for the upstream count, not a slow consumer) against a real local upstream.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ndjsonLines, readBody, sseEvents } from "../../src/gateway/upstream/stream-reader.js";
import { openUpstream } from "../../src/gateway/upstream/upstream-http.js";

async function* bytes(...parts: string[]): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for (const part of parts) yield encoder.encode(part);
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("sseEvents", () => {
  it("reassembles events split across chunks, keeps event names, skips comments", async () => {
    const events = await all(sseEvents(bytes(": keep-alive\n\nevent: message_st", "art\ndata: {\"a\"", ":1}\n\ndata: [DONE]\n", "\n")));
    expect(events.map((event) => [event.event, event.data])).toEqual([
      ["message_start", '{"a":1}'],
      [undefined, "[DONE]"],
    ]);
  });

  it("splits a multi-byte character across chunks correctly", async () => {
    const encoded = new TextEncoder().encode("data: héllo\n\n");
    async function* split() {
      yield encoded.slice(0, 8);
      yield encoded.slice(8);
    }
    expect((await all(sseEvents(split()))).map((event) => event.data)).toEqual(["héllo"]);
  });

  it("drops an unterminated last event so truncation is detected by the end-marker check", async () => {
    expect(await all(sseEvents(bytes("data: one\n\ndata: tw")))).toHaveLength(1);
  });
});

describe("ndjsonLines", () => {
  it("yields whole lines across chunk boundaries and the trailing partial line", async () => {
    expect(await all(ndjsonLines(bytes('{"a":', '1}\n\n{"b":2}\n{"c"')))).toEqual(['{"a":1}', '{"b":2}', '{"c"']);
  });
});

describe("readBody idle timeout", () => {
  /** A real upstream that sends `parts`, pausing `gapMs` before each one after the first. */
  async function upstream(parts: string[], gapMs: number): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer(async (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const [index, part] of parts.entries()) {
        if (index > 0) await sleep(gapMs);
        if (response.destroyed) return;
        response.write(part);
      }
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it("does not count a slow consumer as a stalled upstream", async () => {
    const up = await upstream(["a", "b", "c"], 20);
    try {
      const opened = await openUpstream({ provider: "test", method: "GET", path: "/", authHeaders: {}, context: { target: { baseUrl: up.url }, timeoutMs: 5_000 } });
      let text = "";
      for await (const part of readBody(opened, "test", 100)) {
        text += Buffer.from(part).toString("utf8");
        await sleep(250); // longer than the idle timeout, between reads
      }
      expect(text).toBe("abc");
    } finally {
      await up.close();
    }
  });

  it("aborts a wait that lasts the whole idle timeout", async () => {
    const up = await upstream(["a", "b"], 400);
    try {
      const opened = await openUpstream({ provider: "test", method: "GET", path: "/", authHeaders: {}, context: { target: { baseUrl: up.url }, timeoutMs: 5_000 } });
      const started = performance.now();
      const read = async () => {
        for await (const part of readBody(opened, "test", 100)) void part;
      };
      await expect(read()).rejects.toMatchObject({ code: "upstream_timeout" });
      expect(performance.now() - started).toBeLessThan(380);
    } finally {
      await up.close();
    }
  });
});
