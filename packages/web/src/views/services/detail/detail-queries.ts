/**
 * @module views/services/detail/detail-queries
 * What a service's page reads: the record, its activity (polled: traffic moves every second), the models it serves
 * (the gateway's `/v1/models` entries pinned to it, for sessions that may invoke the gateway) and the registry
 * revision its live updates resume from.
 */
import { useQuery } from "@tanstack/react-query";
import { useCan, useClient } from "../../../app/session";

export const detailKeys = {
  record: (id: string) => ["services", "page", id, "record"] as const,
  activity: (id: string) => ["services", "page", id, "activity"] as const,
  models: (id: string) => ["services", "page", id, "models"] as const,
  revision: ["services", "page", "revision"] as const,
};

export function useServiceRecord(id: string) {
  const client = useClient();
  return useQuery({ queryKey: detailKeys.record(id), queryFn: () => client.services.get(id), retry: false });
}

export function useServiceActivity(id: string, enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: detailKeys.activity(id), queryFn: () => client.observations.service(id), enabled, refetchInterval: 5_000 });
}

/** The `<id>/<model>` entries of `/v1/models`, as plain model names; undefined when the session may not ask. */
export function useGatewayModels(id: string, enabled: boolean) {
  const client = useClient();
  const allowed = useCan("gateway:invoke");
  const query = useQuery({
    queryKey: detailKeys.models(id),
    queryFn: async () => {
      const prefix = `${id}/`;
      return (await client.gateway.models()).filter((model) => model.id.startsWith(prefix)).map((model) => model.id.slice(prefix.length));
    },
    enabled: enabled && allowed,
    refetchInterval: 60_000,
  });
  return { allowed, ...query };
}

/** The registry's revision now: live updates start after it (no snapshot of every service). */
export function useRegistryRevision() {
  const client = useClient();
  return useQuery({ queryKey: detailKeys.revision, queryFn: async () => (await client.status()).registry.revision, staleTime: Infinity, gcTime: 0 });
}
