/**
 * @module views/artifacts/artifacts-queries
 * The artifact manager's server data in the React Query cache under `["artifacts", …]`: the list (name search, tag,
 * type; keyset pages). An upload or delete invalidates it.
 */
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useClient } from "../../app/session";

export interface ArtifactFilter {
  q: string;
  tag: string;
  type: string;
}

export const artifactKeys = {
  all: ["artifacts"] as const,
  list: (filter: ArtifactFilter) => ["artifacts", "list", filter.q, filter.tag, filter.type] as const,
};

const PAGE = 50;

export function useArtifactList(filter: ArtifactFilter) {
  const client = useClient();
  return useInfiniteQuery({
    queryKey: artifactKeys.list(filter),
    queryFn: ({ pageParam }) =>
      client.artifacts.list({
        ...(filter.q ? { q: filter.q } : {}),
        ...(filter.tag ? { tag: filter.tag } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        limit: PAGE,
        ...(pageParam ? { cursor: pageParam } : {}),
      }),
    initialPageParam: "",
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
}

export function useRefreshArtifacts(): () => Promise<void> {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: artifactKeys.all });
}
