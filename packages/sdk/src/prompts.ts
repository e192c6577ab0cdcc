/**
 * @module prompts
 * `client.prompts`: the prompt store (issue 17). `save` (every save a new immutable version), `get` by version or label
 * (an unknown label is a 404, never another version), `list`/search, `versions`, `diff`, `restore`, `setLabel`, `removeLabel`,
 * `render`, `delete`; and `cached`, a read-through cache for applications that render on every request: a fresh entry
 * is served from memory, an expired one is fetched again, and when that fetch fails the stale entry is served with
 * its age visible (`stale: true`, `ageMs`) rather than failing the caller (a 404 is never hidden). Scopes:
 * `prompts:read` to read and render, `prompts:write` to change.
 */
import {
  ListPromptsResponseSchema,
  ListPromptVersionsResponseSchema,
  PromptDiffSchema,
  PromptInfoSchema,
  PromptResponseSchema,
  RenderPromptResponseSchema,
  type ListPromptsResponse,
  type ListPromptVersionsResponse,
  type PromptDiff,
  type PromptInfo,
  type PromptResponse,
  type RenderPromptRequestInput,
  type RenderPromptResponse,
  type SavePromptRequestInput,
} from "@kai/protocol";
import { z } from "zod";
import { KaiApiError } from "./errors.js";
import type { HttpTransport } from "./http-transport.js";

const promptPath = (name: string) => `/api/prompts/${encodeURIComponent(name)}`;
const PromptOnlySchema = z.object({ prompt: PromptInfoSchema });

/** Which version: a number or a label; neither: `latest`. */
export interface PromptSelection {
  version?: number;
  label?: string;
}

export interface CachedPrompt extends PromptResponse {
  /** How old the entry is, ms. */
  ageMs: number;
  /** True when the refresh failed and this is the last version fetched. */
  stale: boolean;
}

export interface PromptsClient {
  list(query?: { q?: string; tag?: string; owner?: string; limit?: number; cursor?: string }): Promise<ListPromptsResponse>;
  /** A new version; the first save creates the prompt (owned by the token's owner). */
  save(name: string, request: SavePromptRequestInput): Promise<PromptResponse>;
  get(name: string, selection?: PromptSelection): Promise<PromptResponse>;
  versions(name: string, query?: { limit?: number; cursor?: string }): Promise<ListPromptVersionsResponse>;
  diff(name: string, from: number, to: number): Promise<PromptDiff>;
  /** A new version copying `version`. */
  restore(name: string, version: number, message?: string): Promise<PromptResponse>;
  setLabel(name: string, label: string, version: number): Promise<PromptInfo>;
  /** Reads by the label are 404 afterwards (never another version). */
  removeLabel(name: string, label: string): Promise<PromptInfo>;
  render(name: string, request?: RenderPromptRequestInput): Promise<RenderPromptResponse>;
  delete(name: string): Promise<void>;
  /** `get` through a cache of `ttlMs` (default 60 s; 0: always fetch), serving stale with its age when a refresh fails. */
  cached(name: string, selection?: PromptSelection & { ttlMs?: number }): Promise<CachedPrompt>;
}

export function createPromptsClient(http: HttpTransport, now: () => number = Date.now): PromptsClient {
  const get = async (name: string, selection: PromptSelection = {}) => (await http.request("GET", promptPath(name), { query: { ...selection }, schema: PromptResponseSchema })).data;
  const cache = new Map<string, { value: PromptResponse; fetchedAt: number }>();
  return {
    list: async (query = {}) => (await http.request("GET", "/api/prompts", { query, schema: ListPromptsResponseSchema })).data,
    save: async (name, request) => (await http.request("PUT", promptPath(name), { body: request, schema: PromptResponseSchema })).data,
    get,
    versions: async (name, query = {}) => (await http.request("GET", `${promptPath(name)}/versions`, { query, schema: ListPromptVersionsResponseSchema })).data,
    diff: async (name, from, to) => (await http.request("GET", `${promptPath(name)}/diff`, { query: { from, to }, schema: PromptDiffSchema })).data,
    restore: async (name, version, message) =>
      (await http.request("POST", `${promptPath(name)}/restore`, { body: { version, ...(message !== undefined ? { message } : {}) }, schema: PromptResponseSchema })).data,
    setLabel: async (name, label, version) =>
      (await http.request("PUT", `${promptPath(name)}/labels/${encodeURIComponent(label)}`, { body: { version }, schema: PromptOnlySchema })).data.prompt,
    removeLabel: async (name, label) => (await http.request("DELETE", `${promptPath(name)}/labels/${encodeURIComponent(label)}`, { schema: PromptOnlySchema })).data.prompt,
    render: async (name, request = {}) => (await http.request("POST", `${promptPath(name)}/render`, { body: request, schema: RenderPromptResponseSchema })).data,
    delete: async (name) => {
      await http.request("DELETE", promptPath(name));
    },
    async cached(name, { ttlMs = 60_000, ...selection } = {}) {
      const key = JSON.stringify([name, selection.version ?? null, selection.label ?? null]);
      const entry = cache.get(key);
      if (entry && now() - entry.fetchedAt < ttlMs) return { ...entry.value, ageMs: now() - entry.fetchedAt, stale: false };
      try {
        const value = await get(name, selection);
        cache.set(key, { value, fetchedAt: now() });
        return { ...value, ageMs: 0, stale: false };
      } catch (error) {
        // An answer about the prompt itself (gone, label removed, access revoked) is never hidden behind a stale copy.
        if (!entry || (error instanceof KaiApiError && error.status >= 400 && error.status < 500 && error.status !== 429)) throw error;
        return { ...entry.value, ageMs: now() - entry.fetchedAt, stale: true };
      }
    },
  };
}
