/**
 * @module yaml-document
 * A YAML document a person gave (a service manifest, a registration: `kai … -f`, the web app's manifest import) as
 * data, or the problem and its offset. Subpath `@kai/protocol/yaml`: the parser is loaded only where YAML is read.
 *
 * Why js-yaml and not the `yaml` package (which the server keeps for its small configuration and plugin files, whose
 * messages name nodes): a manifest may list 200,000 services. Measured on this project's 2-core machine, a
 * 100,000-entry manifest (25 MB of YAML) took the `yaml` package 41 s and 2 GB of memory, before any entry was checked;
 * js-yaml 3.5 s and 0.55 GB. Both read YAML 1.2's core schema (`2024-01-01`, `yes` and `on` stay strings), refuse
 * duplicate keys and know no `<<` merge key, so a manifest means the same to either.
 *
 * Aliases: js-yaml shares an aliased node rather than copying it, so a few lines can stand for billions of nodes
 * once a schema walks them (the "billion laughs"), or for an endless one (an alias inside its own anchor). `yaml`
 * refused such documents by its own count; here the document's size with every alias expanded is worked out after
 * parsing (each shared node measured once; not at all for a text without a `*`), and a document whose aliases add
 * more than it holds (and more than `ALIAS_GROWTH_FLOOR` nodes) is refused, as is one that contains itself.
 */
import { loadAll } from "js-yaml";

export type YamlParse = { ok: true; value: unknown } | { ok: false; problem: string; offset: number | undefined };

/** Nodes aliases may always add, however small the document: sharing a block among many entries is what they are for. */
export const ALIAS_GROWTH_FLOOR = 100_000;

/**
 * The document in `text`: `null` for one that holds nothing (blank, or comments only), an error for more than one
 * document (`---` between two), for YAML that does not parse, and for aliases that grow it too much (see above).
 */
export function parseYamlDocument(text: string): YamlParse {
  let documents: unknown[];
  try {
    documents = loadAll(text);
  } catch (error) {
    const mark = (error as { mark?: { position?: unknown } }).mark;
    const reason = (error as { reason?: unknown }).reason;
    return {
      ok: false,
      problem: typeof reason === "string" ? reason : "it cannot be read",
      offset: typeof mark?.position === "number" ? mark.position : undefined,
    };
  }
  if (documents.length > 1) return { ok: false, problem: `it holds ${documents.length} documents (separated by ---), one is expected`, offset: undefined };
  const value = documents[0] ?? null;
  // An alias is written `*name`: a text without a `*` holds none, and the walk (a quarter of the parse's time on a
  // 100,000-entry manifest) is skipped.
  if (!text.includes("*")) return { ok: true, value };
  const size = sizeWithAliases(value);
  if (size === "cycle") return { ok: false, problem: "an alias refers to a node that contains it: the document would never end", offset: undefined };
  const allowed = size.nodes + Math.max(size.nodes, ALIAS_GROWTH_FLOOR);
  if (size.expanded > allowed) {
    return {
      ok: false,
      problem: `its aliases expand its ${size.nodes.toLocaleString("en-US")} nodes to ${size.expanded.toLocaleString("en-US")} (at most ${allowed.toLocaleString("en-US")} here): refused, as a YAML bomb would be`,
      offset: undefined,
    };
  }
  return { ok: true, value };
}

/** The document's nodes counted once each (`nodes`) and as often as aliases repeat them (`expanded`). */
interface Size {
  nodes: number;
  expanded: number;
}

/** A collection on the walk's stack: its children, the next one to measure, and the expanded size so far. */
interface Open {
  node: object;
  children: unknown[];
  next: number;
  expanded: number;
}

/**
 * The size of `root` with its aliases expanded, or "cycle" when a node contains itself. Iterative, with each
 * collection's expanded size kept once measured: linear in the distinct nodes, and no call stack for aliases to
 * deepen (the parser bounds nesting, not what aliases nest).
 */
function sizeWithAliases(root: unknown): Size | "cycle" {
  if (typeof root !== "object" || root === null) return { nodes: 1, expanded: 1 };
  const measured = new Map<object, number>();
  const onStack = new Set<object>();
  let nodes = 0;
  const open = (node: object): Open => {
    onStack.add(node);
    nodes++;
    return { node, children: Array.isArray(node) ? node : Object.values(node), next: 0, expanded: 1 };
  };
  const stack: Open[] = [open(root)];
  for (;;) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.children.length) {
      stack.pop();
      onStack.delete(top.node);
      measured.set(top.node, top.expanded);
      const parent = stack[stack.length - 1];
      if (parent === undefined) return { nodes, expanded: top.expanded };
      parent.expanded += top.expanded;
      continue;
    }
    const child = top.children[top.next++];
    if (typeof child !== "object" || child === null) {
      nodes++;
      top.expanded++;
      continue;
    }
    const known = measured.get(child);
    if (known !== undefined) top.expanded += known;
    else if (onStack.has(child)) return "cycle";
    else stack.push(open(child));
  }
}
