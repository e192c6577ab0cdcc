/**
 * @module views/prompts/prompts-queries
 * The prompt manager's server data in the React Query cache under `["prompts", …]`: the list (search and tag
 * filter, keyset pages), one prompt at a version or label, its versions, and a diff between two versions. A save,
 * restore, label move or delete invalidates everything under `["prompts"]`: prompts change rarely and by hand.
 */
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useClient } from "../../app/session";

export const promptKeys = {
  all: ["prompts"] as const,
  list: (q: string, tag: string) => ["prompts", "list", q, tag] as const,
  one: (name: string, version: number | undefined) => ["prompts", "one", name, version ?? "latest"] as const,
  versions: (name: string) => ["prompts", "versions", name] as const,
  diff: (name: string, from: number, to: number) => ["prompts", "diff", name, from, to] as const,
};

const PAGE = 50;

export function usePromptList(q: string, tag: string) {
  const client = useClient();
  return useInfiniteQuery({
    queryKey: promptKeys.list(q, tag),
    queryFn: ({ pageParam }) => client.prompts.list({ ...(q ? { q } : {}), ...(tag ? { tag } : {}), limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: "",
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
}

/** One prompt with a version of it (`undefined`: the newest). */
export function usePrompt(name: string, version: number | undefined) {
  const client = useClient();
  return useQuery({ queryKey: promptKeys.one(name, version), queryFn: () => client.prompts.get(name, version === undefined ? {} : { version }) });
}

export function usePromptVersions(name: string) {
  const client = useClient();
  return useInfiniteQuery({
    queryKey: promptKeys.versions(name),
    queryFn: ({ pageParam }) => client.prompts.versions(name, { limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: "",
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
}

export function usePromptDiff(name: string, from: number, to: number, enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: promptKeys.diff(name, from, to), queryFn: () => client.prompts.diff(name, from, to), enabled });
}

/** Marks every prompt query stale (after a change). */
export function useRefreshPrompts(): () => Promise<void> {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: promptKeys.all });
}
