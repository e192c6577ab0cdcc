// Unit tests of the SSE and NDJSON readers over awkwardly split byte chunks.
import { describe, expect, it } from "vitest";
import { ndjsonLines, sseEvents } from "../../src/gateway/stream-reader.js";

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
