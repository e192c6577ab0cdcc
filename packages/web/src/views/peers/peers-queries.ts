/**
 * @module views/peers/peers-queries
 * Federation peers in the React Query cache under `["peers", …]`. The list is read again every few seconds: sync
 * state (lag, last contact, imported records) changes on its own as peers push and are pulled.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useClient } from "../../app/session";

export const peerKeys = {
  all: ["peers"] as const,
  list: ["peers", "list"] as const,
  imported: (did: string) => ["peers", "imported", did] as const,
  discovered: ["peers", "discovered"] as const,
};

/** How often the peers' sync state is read again. */
export const PEERS_REFRESH_MS = 3_000;

export function usePeers() {
  const client = useClient();
  return useQuery({ queryKey: peerKeys.list, queryFn: () => client.peers.list(), refetchInterval: PEERS_REFRESH_MS });
}

export function useRefreshPeers() {
  const queries = useQueryClient();
  return () => Promise.all([queries.invalidateQueries({ queryKey: peerKeys.all }), queries.invalidateQueries({ queryKey: ["services"] })]);
}
