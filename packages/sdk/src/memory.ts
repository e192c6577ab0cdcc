/**
 * @module memory
 * `client.memory`: semantic memory (issue 17, docs/data/memory.md). `add` stores a text (embedded by the node
 * through its gateway; the same text already in the namespace comes back with `created: false`), `search` finds
 * memories by meaning with metadata `filter`s applied inside the search, `get`, `delete` one, and `deleteWhere`
 * (by filter, or a whole namespace with `all: true`). Scopes: `memory:read` to read and search, `memory:write` to
 * add and delete. `reembed` / `reembedStatus` / `cancelReembed` (scope `admin`): the job that moves every memory to
 * another embedding model.
 */
import {
  AddMemoryResponseSchema,
  DeleteMemoriesResponseSchema,
  MemoryResponseSchema,
  ReembedStatusSchema,
  SearchMemoryResponseSchema,
  type AddMemoryRequest,
  type AddMemoryResponse,
  type DeleteMemoriesRequest,
  type Memory,
  type ReembedStatus,
  type SearchMemoryResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

const memoryPath = (id: string) => `/api/memory/${encodeURIComponent(id)}`;

export interface MemorySearchOptions {
  namespace?: string;
  /** Results at most (1–100, default 10). */
  limit?: number;
  /** Only results with a cosine similarity at least this. */
  threshold?: number;
  /** Metadata equality, all must hold (`{ team: "ops" }` is `filter[team]=ops`). */
  filter?: Record<string, string | number | boolean>;
  /** Also return the memories the results relate to. */
  expand?: boolean;
  /** An admin may search another owner's namespace. */
  owner?: string;
}

export interface MemoryClient {
  add(request: AddMemoryRequest): Promise<AddMemoryResponse>;
  search(q: string, options?: MemorySearchOptions): Promise<SearchMemoryResponse>;
  get(id: string): Promise<Memory>;
  delete(id: string): Promise<void>;
  /** Deletes by `filter`, or every memory of the namespace with `all: true`; resolves with how many. */
  deleteWhere(request: DeleteMemoriesRequest): Promise<number>;
  /** Starts moving every memory to `model` (absent: the node's `memory.model`); resolves with the job's first status. */
  reembed(model?: string): Promise<ReembedStatus>;
  reembedStatus(): Promise<ReembedStatus>;
  /** Stops the running job after its current batch. */
  cancelReembed(): Promise<ReembedStatus>;
}

export function createMemoryClient(http: HttpTransport): MemoryClient {
  return {
    add: async (request) => (await http.request("POST", "/api/memory", { body: request, schema: AddMemoryResponseSchema })).data,
    async search(q, options = {}) {
      const { filter, expand, ...rest } = options;
      const query: Record<string, string | number | boolean> = { q, ...rest };
      if (expand !== undefined) query.expand = expand;
      for (const [key, value] of Object.entries(filter ?? {})) query[`filter[${key}]`] = value;
      return (await http.request("GET", "/api/memory/search", { query, schema: SearchMemoryResponseSchema })).data;
    },
    get: async (id) => (await http.request("GET", memoryPath(id), { schema: MemoryResponseSchema })).data.memory,
    async delete(id) {
      await http.request("DELETE", memoryPath(id));
    },
    deleteWhere: async (request) => (await http.request("POST", "/api/memory/delete", { body: request, schema: DeleteMemoriesResponseSchema })).data.deleted,
    reembed: async (model) => (await http.request("POST", "/api/memory/reembed", { body: model === undefined ? {} : { model }, schema: ReembedStatusSchema })).data,
    reembedStatus: async () => (await http.request("GET", "/api/memory/reembed", { schema: ReembedStatusSchema })).data,
    cancelReembed: async () => (await http.request("POST", "/api/memory/reembed/cancel", { schema: ReembedStatusSchema })).data,
  };
}
