/**
 * @module views/plugins/PluginFrame
 * A plugin's UI page in a frame that cannot reach the app: `sandbox="allow-scripts"` without `allow-same-origin`
 * (an opaque origin: no cookies, no storage, no access to this page), loaded from `GET /api/plugins/{id}/ui/page`,
 * which brings its own Content-Security-Policy (the same sandbox, and nothing may be fetched). A frame made from
 * `srcdoc` would inherit the app's policy, whose `script-src 'self'` stops every script of the page.
 *
 * The page reaches the node only through the message channel (plugin-channel.ts): calls of its own plugin's
 * capabilities, made here with the user's session, answers posted back to the frame.
 */
import { useEffect, useRef } from "react";
import { useClient, useSession } from "../../app/session";
import { createPluginChannel } from "./plugin-channel";

export function PluginFrame({ pluginId, name, capabilities }: { pluginId: string; name: string; capabilities: readonly string[] }) {
  const client = useClient();
  const { connection } = useSession();
  const frame = useRef<HTMLIFrameElement>(null);
  const offered = capabilities.join(" ");

  useEffect(() => {
    const handle = createPluginChannel({
      pluginId,
      capabilities: offered.split(" ").filter(Boolean),
      source: () => frame.current?.contentWindow ?? null,
      invoke: async (capability, input) => {
        const answer = await client.gateway.route(capability, input);
        return { output: answer.response, servedBy: answer.servedBy.id };
      },
      // The frame's origin is opaque ("null"): "*" is the only target that reaches it; the source check above is
      // what keeps answers to the frame that asked.
      reply: (message) => frame.current?.contentWindow?.postMessage(message, "*"),
    });
    const listener = (event: MessageEvent) => void handle(event);
    window.addEventListener("message", listener);
    return () => window.removeEventListener("message", listener);
  }, [client, pluginId, offered]);

  return (
    <iframe
      ref={frame}
      title={`${name} (plugin)`}
      sandbox="allow-scripts"
      referrerPolicy="no-referrer"
      src={`${connection.url}/api/plugins/${encodeURIComponent(pluginId)}/ui/page`}
      className="h-[70vh] w-full rounded border border-slate-200 bg-white dark:border-slate-700"
      data-testid={`plugin-frame-${pluginId}`}
    />
  );
}
