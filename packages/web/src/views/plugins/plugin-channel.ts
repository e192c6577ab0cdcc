/**
 * @module views/plugins/plugin-channel
 * The narrow channel between a plugin's UI page (a sandboxed frame with an opaque origin) and the node: the page
 * posts `{kai: 1, id, type: "invoke", capability, input}` to the app; the app forwards it with the user's session
 * as a call of that capability (POST /api/route/{capability}) and posts back `{kai: 1, id, ok, output | error}`.
 *
 * What is accepted is decided here, without a browser, so that it is tested on its own (plugin-channel.test.ts):
 * only messages whose source is the plugin's own frame (any other window, tab or frame is ignored: `event.origin` is
 * "null" for every sandboxed frame, so the source is what tells them apart), only well-formed invoke messages
 * (anything else is ignored, not answered), only capabilities the plugin itself offers (a call of another one is
 * answered with an error and never sent), and at most MAX_IN_FLIGHT calls at a time (a page that floods the channel
 * gets errors, not a flood of requests on the user's behalf).
 */
import { PluginUiInvokeMessageSchema, type PluginUiResultMessage } from "@kai/protocol";

/** Calls one page may have waiting at once. */
export const MAX_IN_FLIGHT = 8;

export interface PluginChannelOptions {
  /** The plugin's id: an answer served by another plugin (one offering the same capability) is refused. */
  pluginId: string;
  /** The capabilities the plugin's process offers (`runtime.capabilities`): the only ones the page may call. */
  capabilities: readonly string[];
  /** The plugin frame's window now (`iframe.contentWindow`); null while it has none. */
  source(): unknown;
  /** The call with the user's session: the output, and who served it (`plugin:<id>`). */
  invoke(capability: string, input: unknown): Promise<{ output: unknown; servedBy: string }>;
  /** Posts an answer to the frame. */
  reply(message: PluginUiResultMessage): void;
}

/** What the app's `message` listener gets (a MessageEvent has these). */
export interface ChannelEvent {
  source: unknown;
  data: unknown;
}

/**
 * A `message` handler for one plugin frame. It answers "ignored" for anything it drops, or a promise that settles
 * once the answer has been posted (tests wait on it; the app does not need to).
 */
export function createPluginChannel(options: PluginChannelOptions): (event: ChannelEvent) => "ignored" | Promise<void> {
  const offered = new Set(options.capabilities);
  let inFlight = 0;
  return (event) => {
    const frame = options.source();
    if (frame === null || frame === undefined || event.source !== frame) return "ignored";
    const parsed = PluginUiInvokeMessageSchema.safeParse(event.data);
    if (!parsed.success) return "ignored";
    const { id, capability, input } = parsed.data;
    const fail = (error: string) => options.reply({ kai: 1, id, ok: false, error });
    if (!offered.has(capability)) {
      fail(`this plugin does not offer ${capability}`);
      return Promise.resolve();
    }
    if (inFlight >= MAX_IN_FLIGHT) {
      fail(`too many calls at once (at most ${MAX_IN_FLIGHT})`);
      return Promise.resolve();
    }
    inFlight++;
    return options
      .invoke(capability, input)
      .then(
        ({ output, servedBy }) => {
          if (servedBy !== `plugin:${options.pluginId}`) fail(`${capability} was served by ${servedBy}, not this plugin`);
          else options.reply({ kai: 1, id, ok: true, output });
        },
        (error: unknown) => fail(error instanceof Error ? error.message : "the call failed"),
      )
      .finally(() => {
        inFlight--;
      });
  };
}
