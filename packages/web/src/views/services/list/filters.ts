/**
 * @module views/services/list/filters
 * The list's filters, search and sort as they live in the address (`/services?status=offline&q=llama`), so
 * that a filtered view can be bookmarked, shared and reloaded. The protocol's ServiceFilterSchema decides what
 * is a valid filter; a value it refuses is shown against its control and left out of the query, rather than
 * sent to be refused by the node.
 */
import { SERVICE_SORTS, ServiceFilterSchema, fieldErrorsFromZod, type ServiceFilterInput, type ServiceSort, type SortOrder } from "@kai/protocol";

export const FILTER_KEYS = ["q", "capability", "tag", "type", "provider", "owner", "status", "location", "origin"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type FilterState = Record<FilterKey, string>;

/** Keys whose value may list several words (every one must match). */
const LISTS: ReadonlySet<FilterKey> = new Set(["capability", "tag"]);

export function readFilters(params: URLSearchParams): FilterState {
  const state = {} as FilterState;
  for (const key of FILTER_KEYS) state[key] = params.get(key) ?? "";
  return state;
}

export interface ParsedFilter {
  /** What goes to the node (list and watch): only valid, non-empty values. */
  filter: ServiceFilterInput;
  /** Why a value was left out, by filter key. */
  errors: Partial<Record<FilterKey, string>>;
}

export function parseFilters(state: FilterState): ParsedFilter {
  const candidate: Record<string, unknown> = {};
  for (const key of FILTER_KEYS) {
    const text = state[key].trim();
    if (text === "") continue;
    candidate[key] = LISTS.has(key) ? text.split(/[\s,]+/).filter(Boolean) : text;
  }
  const errors: Partial<Record<FilterKey, string>> = {};
  const checked = ServiceFilterSchema.safeParse(candidate);
  if (!checked.success) {
    for (const { path, message } of fieldErrorsFromZod(checked.error)) {
      const key = path.split(".")[0] as FilterKey;
      errors[key] ??= message;
      delete candidate[key];
    }
  }
  return { filter: candidate as ServiceFilterInput, errors };
}

/** A stable key of a filter, for the data cache and to restart the stream when it changes. */
export function filterKey(filter: ServiceFilterInput): string {
  return JSON.stringify(Object.entries(filter).sort(([a], [b]) => a.localeCompare(b)));
}

/** The sort keys are the node's (the node sorts, every page): `sort=<key>&dir=desc` in the address. */
export type SortKey = ServiceSort;
export interface SortState {
  key: SortKey;
  descending: boolean;
}

export function readSort(params: URLSearchParams): SortState {
  const key = params.get("sort");
  return {
    key: (SERVICE_SORTS as readonly string[]).includes(key ?? "") ? (key as SortKey) : "registered",
    descending: params.get("dir") === "desc",
  };
}

/** The listing query's `sort`/`order` for a sort state (left out when they are the node's defaults). */
export function sortQuery(sort: SortState): { sort?: ServiceSort; order?: SortOrder } {
  return { ...(sort.key !== "registered" ? { sort: sort.key } : {}), ...(sort.descending ? { order: "desc" as const } : {}) };
}

/** The address's parameters with one value changed (empty removes it). */
export function withParam(params: URLSearchParams, key: string, value: string): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value === "") next.delete(key);
  else next.set(key, value);
  return next;
}
