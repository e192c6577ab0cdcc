/**
 * @module storage/contracts/prompt-store
 * Where the prompt store (issue 17) keeps its prompts: one head per prompt (owner, visibility, description, tags,
 * labels, newest version number) and its immutable versions. A save appends the next version and moves the head
 * (and any labels asked for) in one atomic step, so two racing saves get two different numbers and a label never
 * points at a version that is not stored. Full-text search works on words (`searchWords`): every query word must
 * start a word of the prompt's name, description, tags or newest template, the same rule on every backend
 * (memory: a scan; SQLite: FTS5 prefix queries; PostgreSQL: a `simple` tsvector with prefix tsqueries).
 * Every backend passes the contract suite (test/prompts/prompt-store-contract.ts).
 */
import { LATEST_LABEL, type PromptInfo, type PromptTemplate, type PromptVersion, type PromptVisibility } from "@kai/protocol";
import { decodeStored } from "./task-store.js";
import type { Viewer } from "./viewer.js";

/** A new version to store, and what it changes on the prompt's head. */
export interface PromptSave {
  name: string;
  /** The owner the stored prompt must have (a new prompt gets it); another owner: nothing stored (`owner_mismatch`). */
  owner: string;
  /** Absent: unchanged (`private` for a new prompt). */
  visibility?: PromptVisibility;
  /** Absent: unchanged. */
  description?: string;
  /** Absent: unchanged. */
  tags?: string[];
  /** The version without its name and number (the store gives it the next one). */
  version: Omit<PromptVersion, "name" | "version">;
  /** Labels moved onto the new version (never `latest`). */
  labels: readonly string[];
}

export type PromptSaveOutcome = { ok: true; prompt: PromptInfo; version: PromptVersion } | { ok: false; reason: "owner_mismatch" };

export interface PromptListQuery {
  viewer: Viewer;
  /** Only this owner's prompts. */
  owner?: string;
  /** Full-text: every word must start a word of the prompt (`searchWords` of the query). Empty or absent: no filter. */
  words?: readonly string[];
  tag?: string;
  limit: number;
  /** The `nextCursor` of the previous page (a prompt name). */
  cursor?: string;
}

export interface PromptPage {
  prompts: PromptInfo[];
  nextCursor: string | null;
}

export interface PromptStore {
  /** Appends the next version (1 for a new prompt), moves `latest` and `labels` onto it, updates the head. */
  savePrompt(save: PromptSave): Promise<PromptSaveOutcome>;
  getPrompt(name: string): Promise<PromptInfo | null>;
  getVersion(name: string, version: number): Promise<PromptVersion | null>;
  /** Newest first; `before`: only versions below that number. */
  listVersions(name: string, limit: number, before?: number): Promise<PromptVersion[]>;
  /**
   * Points `label` at `version` (null: removes the label). Null when the prompt or the version does not exist.
   * `latest` is never stored: it is always the newest version.
   */
  setLabel(name: string, label: string, version: number | null): Promise<PromptInfo | null>;
  /** Removes the prompt and every version; false when it did not exist. */
  deletePrompt(name: string): Promise<boolean>;
  /** Prompts the viewer may see (own, `shared`, every one for an admin), by name in byte order. */
  listPrompts(query: PromptListQuery): Promise<PromptPage>;
}

/**
 * The words of a text, lower-cased (letters and digits; anything else separates). Queries and stored texts go
 * through it alike, so every backend searches the same words; its output holds no search-syntax characters, which
 * is what makes it safe to hand to FTS5 and `to_tsquery`.
 */
export function searchWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0)
    .map((word) => word.slice(0, 64));
}

/** The text of a template (a chat's message contents, in order). */
export function templateText(template: PromptTemplate): string {
  return typeof template === "string" ? template : template.map((message) => message.content).join("\n");
}

/** What a prompt is found by: its name, description, tags and newest template, as normalised words. */
export function promptSearchText(info: Pick<PromptInfo, "name" | "description" | "tags">, template: PromptTemplate): string {
  return [...new Set(searchWords([info.name, info.description ?? "", ...info.tags, templateText(template)].join(" ")))].join(" ");
}

/** The stored head: `PromptInfo` without `latest` in its labels. */
export type StoredPromptHead = Omit<PromptInfo, "latestVersion">;

/** The head as returned: the newest version number, and `latest` among the labels. */
export function withLatest(head: StoredPromptHead, latestVersion: number): PromptInfo {
  return { ...head, latestVersion, labels: { ...head.labels, [LATEST_LABEL]: latestVersion } };
}

/** The new head after `save` (its version `version`), from the old one (null: a new prompt). */
export function nextHead(old: StoredPromptHead | null, save: PromptSave, version: number): StoredPromptHead {
  const labels = { ...(old?.labels ?? {}) };
  for (const label of save.labels) labels[label] = version;
  const head: StoredPromptHead = {
    name: save.name,
    owner: old?.owner ?? save.owner,
    visibility: save.visibility ?? old?.visibility ?? "private",
    tags: save.tags ?? old?.tags ?? [],
    labels,
    createdAt: old?.createdAt ?? save.version.createdAt,
    updatedAt: save.version.createdAt,
  };
  const description = save.description ?? old?.description;
  if (description !== undefined) head.description = description;
  return head;
}

/** The stored version of `save` with its name and number. */
export const versionOf = (save: PromptSave, version: number): PromptVersion => ({ ...save.version, name: save.name, version });

export const decodeHead = (text: string): StoredPromptHead => decodeStored<StoredPromptHead>(text, "prompt");
export const decodeVersion = (text: string): PromptVersion => decodeStored<PromptVersion>(text, "prompt version");

/** Whether the viewer may see a prompt (the same rule as the backends' listing queries). */
export function maySeePrompt(viewer: Viewer, prompt: Pick<PromptInfo, "owner" | "visibility">): boolean {
  return viewer.admin || prompt.owner === viewer.owner || prompt.visibility === "shared";
}
