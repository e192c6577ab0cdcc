// The plugin UI channel without a browser: messages from any window but the plugin's frame, malformed messages and
// other message kinds are ignored (nothing sent, nothing answered); a capability the plugin does not offer is
// answered with an error and never sent; allowed calls are forwarded and their output or error posted back under the
// caller's id; an answer served by another plugin is refused; and a page cannot have more than MAX_IN_FLIGHT calls.
import { describe, expect, it } from "vitest";
import type { PluginUiResultMessage } from "@kai/protocol";
import { createPluginChannel, MAX_IN_FLIGHT } from "./plugin-channel";

function setup(invoke?: (capability: string, input: unknown) => Promise<{ output: unknown; servedBy: string }>) {
  const frame = { name: "the plugin's frame" };
  const sent: Array<{ capability: string; input: unknown }> = [];
  const replies: PluginUiResultMessage[] = [];
  const handle = createPluginChannel({
    pluginId: "echo-ui",
    capabilities: ["ui_echo"],
    source: () => frame,
    invoke: async (capability, input) => {
      sent.push({ capability, input });
      return invoke ? invoke(capability, input) : { output: { echoed: input }, servedBy: "plugin:echo-ui" };
    },
    reply: (message) => replies.push(message),
  });
  return { frame, sent, replies, handle };
}

const call = (id: number | string, capability = "ui_echo", input: unknown = { text: "hi" }) => ({ kai: 1, id, type: "invoke", capability, input });

describe("the plugin UI channel", () => {
  it("forwards an allowed call and posts its output back under the caller's id", async () => {
    const { frame, sent, replies, handle } = setup();
    await handle({ source: frame, data: call(7) });
    expect(sent).toEqual([{ capability: "ui_echo", input: { text: "hi" } }]);
    expect(replies).toEqual([{ kai: 1, id: 7, ok: true, output: { echoed: { text: "hi" } } }]);
  });

  it("ignores messages from any other window, and everything while the frame has none", () => {
    const { sent, replies, handle } = setup();
    for (const source of [{ name: "another frame" }, null, undefined, globalThis]) expect(handle({ source, data: call(1) })).toBe("ignored");
    const closed = createPluginChannel({ pluginId: "echo-ui", capabilities: ["ui_echo"], source: () => null, invoke: () => Promise.reject(new Error("sent")), reply: () => replies.push({ kai: 1, id: 0, ok: false, error: "replied" }) });
    expect(closed({ source: null, data: call(1) })).toBe("ignored");
    expect(sent).toEqual([]);
    expect(replies).toEqual([]);
  });

  it("ignores malformed messages and other kinds", () => {
    const { frame, sent, replies, handle } = setup();
    const malformed = [
      null, "invoke", 42, [], {}, { ...call(1), kai: 2 }, { ...call(1), type: "result" }, { ...call(1), extra: true },
      { kai: 1, id: 1, type: "invoke", input: 1 }, call(1, "Not A Capability"), call(1, "a".repeat(100)), { ...call(1), id: {} }, { ...call(1), id: -1 }, { ...call(1), id: "" },
      { kai: 1, id: 1, ok: true, output: "a forged answer" },
    ];
    for (const data of malformed) expect(handle({ source: frame, data }), JSON.stringify(data)).toBe("ignored");
    expect(sent).toEqual([]);
    expect(replies).toEqual([]);
  });

  it("answers a call of a capability the plugin does not offer with an error, and never sends it", async () => {
    const { frame, sent, replies, handle } = setup();
    await handle({ source: frame, data: call("a", "llm_chat") });
    expect(sent).toEqual([]);
    expect(replies).toEqual([{ kai: 1, id: "a", ok: false, error: "this plugin does not offer llm_chat" }]);
  });

  it("posts a failed call's error back, and refuses an answer another plugin served", async () => {
    const failing = setup(() => Promise.reject(new Error("the input does not match the schema")));
    await failing.handle({ source: failing.frame, data: call(2) });
    expect(failing.replies).toEqual([{ kai: 1, id: 2, ok: false, error: "the input does not match the schema" }]);
    const other = setup(async () => ({ output: "theirs", servedBy: "plugin:another" }));
    await other.handle({ source: other.frame, data: call(3) });
    expect(other.replies).toEqual([{ kai: 1, id: 3, ok: false, error: "ui_echo was served by plugin:another, not this plugin" }]);
  });

  it("keeps at most MAX_IN_FLIGHT calls waiting at once", async () => {
    let release!: () => void;
    const gate = new Promise<void>((done) => (release = done));
    const { frame, sent, replies, handle } = setup(async () => {
      await gate;
      return { output: "done", servedBy: "plugin:echo-ui" };
    });
    const pending = Array.from({ length: MAX_IN_FLIGHT + 2 }, (_, index) => handle({ source: frame, data: call(index) }));
    await Promise.resolve();
    expect(sent).toHaveLength(MAX_IN_FLIGHT);
    expect(replies.filter((reply) => !reply.ok)).toHaveLength(2);
    release();
    await Promise.all(pending);
    expect(replies.filter((reply) => reply.ok)).toHaveLength(MAX_IN_FLIGHT);
    await handle({ source: frame, data: call("after") });
    expect(replies.at(-1)).toEqual({ kai: 1, id: "after", ok: true, output: "done" });
  });
});
