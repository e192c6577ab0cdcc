/**
 * @module views/artifacts/MarkdownFrame
 * Shows the node's rendered Markdown (already sanitised there) in a frame that would stay harmless even if that HTML
 * were not: a sandbox without `allow-scripts` or `allow-same-origin` (nothing runs; the frame is an opaque origin with
 * no access to this page, its cookies or its storage), and a Content-Security-Policy of its own that lets it fetch
 * nothing (images only from `data:`). Remote images are off until the viewer asks: then the addresses the node left
 * in `data-remote-src` (only `https:`/`http:` ones) become `src`, and the policy allows those, for this view only.
 * Links open in a new tab (popups may leave the sandbox so that the linked page works normally).
 */
import { useMemo, useState } from "react";
import { Button } from "../../components/Button";

const STYLE = `body{font:14px/1.5 system-ui,sans-serif;margin:12px;color:#0f172a;overflow-wrap:anywhere}
pre{background:#f1f5f9;padding:8px;overflow:auto}code{font-family:ui-monospace,monospace}
table{border-collapse:collapse}th,td{border:1px solid #cbd5e1;padding:2px 6px}img{max-width:100%}
img:not([src]){display:inline-block;min-width:1em;min-height:1em;border:1px dashed #94a3b8}`;

/** The HTML with remote image addresses moved into `src` (parsed in an inert document: nothing loads or runs). */
function withRemoteImages(html: string): string {
  const document = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  for (const image of Array.from(document.querySelectorAll("img[data-remote-src]"))) {
    const address = image.getAttribute("data-remote-src") ?? "";
    let url: URL | undefined;
    try {
      url = new URL(address);
    } catch {
      url = undefined;
    }
    if (url && (url.protocol === "https:" || url.protocol === "http:")) image.setAttribute("src", url.href);
    image.removeAttribute("data-remote-src");
  }
  return document.body.innerHTML;
}

/** The frame's whole document: its own policy first, then the HTML. */
export function frameDocument(html: string, remoteImages: boolean): string {
  const images = remoteImages ? "data: https: http:" : "data:";
  const policy = `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}"><style>${STYLE}</style></head><body>${remoteImages ? withRemoteImages(html) : html}</body></html>`;
}

export function MarkdownFrame({ html, remoteImages, title }: { html: string; remoteImages: number; title: string }) {
  const [loadRemote, setLoadRemote] = useState(false);
  const document = useMemo(() => frameDocument(html, loadRemote), [html, loadRemote]);
  return (
    <div>
      {remoteImages > 0 && !loadRemote && (
        <p className="mb-2 flex items-center gap-2 text-sm">
          {remoteImages} remote image{remoteImages === 1 ? " is" : "s are"} not loaded (loading tells their hosts that you opened this file).
          <Button onClick={() => setLoadRemote(true)}>Load remote images</Button>
        </p>
      )}
      <iframe title={title} sandbox="allow-popups allow-popups-to-escape-sandbox" referrerPolicy="no-referrer" srcDoc={document} className="h-96 w-full rounded border border-slate-200 bg-white dark:border-slate-700" />
    </div>
  );
}
