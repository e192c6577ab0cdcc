/**
 * @module views/plugins/plugins-queries
 * Plugins' server data in the React Query cache under `["plugins", …]`: the listing and one plugin (plugins:admin),
 * the running plugins with a UI (the menu) and one UI page (gateway:invoke). Enable, disable and rescan invalidate
 * everything under `["plugins"]`, the menu included: a plugin that starts or stops gains or loses its entry.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useClient } from "../../app/session";

export const pluginKeys = {
  all: ["plugins"] as const,
  list: ["plugins", "list"] as const,
  one: (id: string) => ["plugins", "one", id] as const,
  uis: ["plugins", "uis"] as const,
  ui: (id: string) => ["plugins", "ui", id] as const,
};

export function usePluginList() {
  const client = useClient();
  // A plugin that is starting or restarting changes state on its own: look again while one is.
  return useQuery({
    queryKey: pluginKeys.list,
    queryFn: () => client.plugins.list(),
    refetchInterval: (query) => (query.state.data?.plugins.some((plugin) => plugin.runtime?.state === "starting" || plugin.runtime?.state === "restarting") ? 2_000 : false),
  });
}

export function usePlugin(id: string | undefined) {
  const client = useClient();
  return useQuery({ queryKey: pluginKeys.one(id ?? ""), queryFn: () => client.plugins.get(id ?? ""), enabled: id !== undefined });
}

/** The plugins with a UI that run now (the menu); looked at again every minute. */
export function usePluginUis(enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: pluginKeys.uis, queryFn: () => client.plugins.uis(), enabled, refetchInterval: 60_000 });
}

export function usePluginUi(id: string) {
  const client = useClient();
  return useQuery({ queryKey: pluginKeys.ui(id), queryFn: () => client.plugins.ui(id), retry: false });
}

/** Marks every plugin query stale (after enable, disable or a rescan). */
export function useRefreshPlugins(): () => Promise<void> {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: pluginKeys.all });
}
