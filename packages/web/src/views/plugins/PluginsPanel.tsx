/**
 * @module views/plugins/PluginsPanel
 * Every plugin the node found (docs/plugins.md): id and name, version, what the node made of its folder, whether it
 * runs here (and why not: a crash, a limit, the CPU watchdog's `overloaded`), its trust level and why, where it was
 * found and its first problem (or a cluster change this instance did not apply); below, the listing's problems of this
 * instance (a missing `plugins.paths` entry, cluster changes not applied here). With `plugins:admin` (the whole page
 * needs it to list anything) each valid plugin can be enabled or disabled, and the folders read again ("Rescan").
 * "Details" opens a panel with the manifest's permissions and capabilities and the process's state.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import type { PluginSummary } from "@kai/protocol";
import { useCan, useClient } from "../../app/session";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { DataTable, type Column } from "../../components/DataTable";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { PluginDetailPanel } from "./PluginDetailPanel";
import { pluginTone } from "./plugin-tones";
import { PluginProblems, RunState } from "./plugin-status";
import { problemsAbout } from "./plugin-words";
import { usePluginList, useRefreshPlugins } from "./plugins-queries";

export function PluginsPanel() {
  const client = useClient();
  const canAdmin = useCan("plugins:admin");
  const refresh = useRefreshPlugins();
  const list = usePluginList();
  const [open, setOpen] = useState<string>();
  const toggle = useMutation({
    mutationFn: ({ id, enable }: { id: string; enable: boolean }) => (enable ? client.plugins.enable(id) : client.plugins.disable(id)),
    onSettled: refresh,
  });
  const rescan = useMutation({ mutationFn: () => client.plugins.rescan(), onSettled: refresh });
  const plugins = list.data?.plugins ?? [];

  const columns: Column<PluginSummary>[] = [
    {
      header: "Plugin",
      cell: (plugin) => (
        <span>
          <span className="font-mono">{plugin.id}</span>
          {plugin.name && <span className="block text-xs text-slate-600 dark:text-slate-400">{plugin.name}</span>}
        </span>
      ),
    },
    { header: "Version", cell: (plugin) => plugin.version ?? "—" },
    { header: "State", cell: (plugin) => <Badge tone={pluginTone(plugin.state)}>{plugin.state}</Badge> },
    {
      header: "Runs",
      cell: (plugin) => (plugin.runtime ? <RunState runtime={plugin.runtime} /> : "—"),
      className: "max-w-xs break-words",
    },
    {
      header: "Trust",
      cell: (plugin) => (
        <span>
          <Badge tone={pluginTone(plugin.trust.level)}>{plugin.trust.level}</Badge>
          <span className="block text-xs text-slate-600 dark:text-slate-400">{plugin.trust.reason}</span>
        </span>
      ),
      className: "max-w-xs",
    },
    { header: "Source", cell: (plugin) => plugin.source },
    {
      header: "Problem",
      cell: (plugin) => {
        const [own] = plugin.errors;
        if (own) return `${own.field ? `${own.field}: ` : ""}${own.message}`;
        const [here] = problemsAbout(list.data?.errors ?? [], plugin.id);
        return here ? `not applied on this instance: ${here.message}` : "—";
      },
      className: "max-w-xs break-words",
    },
    {
      header: "Actions",
      cell: (plugin) => (
        <span className="flex flex-wrap gap-2">
          <Button onClick={() => setOpen(open === plugin.id ? undefined : plugin.id)} aria-expanded={open === plugin.id} aria-label={`Details of ${plugin.id}`}>
            Details
          </Button>
          {canAdmin && plugin.state === "discovered" && (
            plugin.runtime?.enabled ? (
              <Button busy={toggle.isPending && toggle.variables.id === plugin.id} onClick={() => toggle.mutate({ id: plugin.id, enable: false })} aria-label={`Disable ${plugin.id}`}>
                Disable
              </Button>
            ) : (
              <Button look="primary" busy={toggle.isPending && toggle.variables.id === plugin.id} onClick={() => toggle.mutate({ id: plugin.id, enable: true })} aria-label={`Enable ${plugin.id}`}>
                Enable
              </Button>
            )
          )}
        </span>
      ),
    },
  ];

  return (
    <div className="space-y-4">
      <Panel>
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <p className="text-sm text-slate-700 dark:text-slate-300">
            Plugins found in the node&apos;s plugin folders
            {list.data && (
              <>
                , read <When at={list.data.scannedAt} />
              </>
            )}
            .
          </p>
          {canAdmin && (
            <Button busy={rescan.isPending} onClick={() => rescan.mutate()}>
              Rescan
            </Button>
          )}
        </div>
        <ErrorNotice error={list.error} title="The plugins could not be listed" />
        <ErrorNotice error={toggle.error} />
        <ErrorNotice error={rescan.error} title="The rescan did not work" />
        {list.isPending ? (
          <p role="status">Loading…</p>
        ) : (
          <DataTable label="Plugins" columns={columns} rows={plugins} rowKey={(plugin) => `${plugin.folder}:${plugin.id}`} rowTestId={(plugin) => `plugin-${plugin.id}`} empty="No plugins: put a plugin folder under the data directory's plugins folder and rescan." />
        )}
        {list.data && <PluginProblems problems={list.data.errors} />}
      </Panel>
      {open !== undefined && <PluginDetailPanel id={open} />}
    </div>
  );
}
