/**
 * @module artifacts/previews/markdown-preview
 * Markdown rendered (markdown-it, CommonMark with tables and strikethrough) and then sanitised by an allow-list
 * (sanitize-html): the renderer passes raw HTML through, so what decides what reaches a viewer is the sanitiser,
 * never the renderer. Kept: text structure (headings, lists, tables, code, quotes, emphasis, details). Dropped:
 * scripts and styles with their content, frames, forms, every attribute not listed (so every `on…` handler and every
 * `style` but table alignment), links other than absolute http(s), mailto and in-page `#…`. Images load nothing by
 * default: an inline `data:` raster image keeps its `src`; a remote one keeps its address only in `data-remote-src`
 * (a viewer may offer to load remote images; fetching them tells their host that someone opened the file), and any
 * other source is dropped. Links open in a new tab without a referrer.
 */
import MarkdownIt from "markdown-it";
import sanitizeHtml from "sanitize-html";

const markdown = new MarkdownIt({ html: true, linkify: true, typographer: false });

const HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"];
const ALLOWED_TAGS = [
  ...HEADINGS, "p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "del", "s", "sub", "sup", "kbd", "mark",
  "a", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "img", "details", "summary",
];
/** Only raster images inline (an SVG data URL is a document of its own). */
const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/i;
const REMOTE = /^https?:\/\//i;
const LINK = /^(https?:\/\/|mailto:|#)/i;
const ALIGN = [/^(left|right|center)$/];

export interface RenderedMarkdown {
  html: string;
  remoteImages: number;
}

/** The sanitised HTML of `source`. */
export function renderMarkdown(source: string): RenderedMarkdown {
  let remoteImages = 0;
  const html = sanitizeHtml(markdown.render(source), {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      a: ["href", "title", "target", "rel"],
      img: ["src", "alt", "title", "data-remote-src"],
      ol: ["start"],
      th: ["style"],
      td: ["style"],
      code: ["class"],
    },
    allowedClasses: { code: ["language-*"] },
    allowedStyles: { th: { "text-align": ALIGN }, td: { "text-align": ALIGN } },
    allowedSchemes: ["http", "https", "mailto"],
    allowedSchemesByTag: { img: ["data"] },
    allowProtocolRelative: false,
    disallowedTagsMode: "discard",
    transformTags: {
      // Attributes are rebuilt from scratch, so one written in the source (a `data-remote-src`, a `target`) never
      // survives as it was written.
      a: (tagName, attribs) => {
        const href = (attribs.href ?? "").trim();
        return {
          tagName,
          attribs: {
            ...(LINK.test(href) ? { href } : {}),
            ...(attribs.title !== undefined ? { title: attribs.title } : {}),
            ...(href.startsWith("#") ? {} : { target: "_blank", rel: "noopener noreferrer nofollow" }),
          },
        };
      },
      img: (tagName, attribs) => {
        const src = (attribs.src ?? "").trim();
        const kept: Record<string, string> = {};
        if (attribs.alt !== undefined) kept.alt = attribs.alt;
        if (attribs.title !== undefined) kept.title = attribs.title;
        if (DATA_IMAGE.test(src)) kept.src = src;
        else if (REMOTE.test(src)) {
          kept["data-remote-src"] = src;
          remoteImages++;
        }
        return { tagName, attribs: kept };
      },
    },
  });
  return { html, remoteImages };
}
