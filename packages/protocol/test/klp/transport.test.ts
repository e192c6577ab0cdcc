/**
 * @module transport.test
 * The in-memory linked pair: delivery both ways, asynchronous like a socket, clean close on both ends,
 * and a full sign → send → accept → reply round over it.
 */
import { describe, expect, it } from "vitest";
import { ReplayCache, accept, createEnvelope, createLinkedTransports, generateKeyPair } from "../../src/klp/index.js";
import { parseJson } from "../../src/parse-json.js";

describe("linked transports", () => {
  it("deliver both ways, asynchronously and in order", async () => {
    const [a, b] = createLinkedTransports();
    const atA: string[] = [];
    const atB: string[] = [];
    a.onMessage((text) => atA.push(text));
    b.onMessage((text) => atB.push(text));
    const sending = a.send("one");
    expect(atB).toEqual([]); // not delivered inside the sender's call
    await sending;
    await a.send("two");
    await b.send("back");
    expect(atB).toEqual(["one", "two"]);
    expect(atA).toEqual(["back"]);
  });

  it("close both ends once, notify both, and refuse further sends", async () => {
    const [a, b] = createLinkedTransports();
    const reasons: string[] = [];
    a.onClose((reason) => reasons.push(`a:${reason}`));
    b.onClose((reason) => reasons.push(`b:${reason}`));
    await b.close("bye");
    await a.close("again");
    expect(reasons).toEqual(["b:bye", "a:bye"]);
    expect(a.closed && b.closed).toBe(true);
    await expect(a.send("x")).rejects.toThrow(/closed/);
  });

  it("a handler removed with its disposer gets nothing", async () => {
    const [a, b] = createLinkedTransports();
    const got: string[] = [];
    const off = b.onMessage((text) => got.push(text));
    off();
    await a.send("x");
    expect(got).toEqual([]);
  });

  it("carries a signed request and its correlated reply", async () => {
    const client = generateKeyPair();
    const node = generateKeyPair();
    const [clientSide, nodeSide] = createLinkedTransports();
    const replayCache = new ReplayCache();
    nodeSide.onMessage((text) => {
      void (async () => {
        const parsed = parseJson(text);
        const result = await accept(parsed.ok ? parsed.value : undefined, { replayCache });
        if (!result.ok) return;
        const reply = createEnvelope(
          { type: "task_result", to: result.envelope.from, payload: { taskId: "t", status: "success", result: 42 }, metadata: { correlationId: result.envelope.id } },
          node,
        );
        await nodeSide.send(JSON.stringify(reply));
      })();
    });
    const replied = new Promise<unknown>((resolve) => clientSide.onMessage((text) => resolve(JSON.parse(text))));
    const request = createEnvelope({ type: "task_request", to: node.did, payload: { taskId: "t", capability: "sum", parameters: { a: 40, b: 2 } } }, client);
    await clientSide.send(JSON.stringify(request));
    const reply = await replied;
    const checked = await accept(reply, { replayCache: new ReplayCache() });
    expect(checked.ok && checked.envelope.metadata?.correlationId).toBe(request.id);
    expect(checked.ok && checked.envelope.payload).toMatchObject({ result: 42 });
    await clientSide.close();
    expect(nodeSide.closed).toBe(true);
  });
});
