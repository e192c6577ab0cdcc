/**
 * @module views/overview/overview-queries
 * What the overview reads, each with its own poll: the node and registry status, gateway traffic (metrics:read),
 * the vault's state, the federation peers (federation:admin) and what needs attention (admin, `kai doctor`'s checks). Registry changes heard on the stream refetch the
 * status at once (index.tsx); the polls keep traffic figures moving and cover a stream that is down.
 */
import { useQuery } from "@tanstack/react-query";
import { useCan, useClient } from "../../app/session";

export const OVERVIEW_KEYS = {
  status: ["overview", "status"] as const,
  summary: ["overview", "summary"] as const,
  vault: ["overview", "vault"] as const,
  peers: ["overview", "peers"] as const,
  doctor: ["overview", "doctor"] as const,
};

export function useNodeStatus() {
  const client = useClient();
  return useQuery({ queryKey: OVERVIEW_KEYS.status, queryFn: () => client.status(), refetchInterval: 15_000 });
}

export function useTrafficSummary() {
  const client = useClient();
  const allowed = useCan("metrics:read");
  const query = useQuery({ queryKey: OVERVIEW_KEYS.summary, queryFn: () => client.observations.summary(), enabled: allowed, refetchInterval: 5_000 });
  return { allowed, ...query };
}

export function useVaultState() {
  const client = useClient();
  return useQuery({ queryKey: OVERVIEW_KEYS.vault, queryFn: () => client.vault.status(), refetchInterval: 15_000 });
}

export function usePeerStates() {
  const client = useClient();
  const allowed = useCan("federation:admin");
  const query = useQuery({ queryKey: OVERVIEW_KEYS.peers, queryFn: () => client.peers.list(), enabled: allowed, refetchInterval: 15_000 });
  return { allowed, ...query };
}

/** What on the node needs attention (`GET /api/doctor`, admin): read again every minute (disk space, backups, TLS). */
export function useDoctor() {
  const client = useClient();
  const allowed = useCan("admin");
  const query = useQuery({ queryKey: OVERVIEW_KEYS.doctor, queryFn: () => client.doctor(), enabled: allowed, refetchInterval: 60_000 });
  return { allowed, ...query };
}
