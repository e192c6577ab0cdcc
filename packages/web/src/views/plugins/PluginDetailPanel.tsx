/**
 * @module views/plugins/PluginDetailPanel
 * One plugin in full: what its manifest asks for (permissions with what each grants, its own CPU limits, capabilities,
 * a UI), the node API check, its trust level and why, every problem, and its process here (state, why it is not
 * running: `overloaded` when the CPU watchdog stopped it, restarts, isolation layers).
 */
import type { ReactNode } from "react";
import type { PluginDetail } from "@kai/protocol";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { RunState } from "./plugin-status";
import { cpuLimitWords, describePermission, isOverloaded } from "./plugin-words";
import { usePlugin } from "./plugins-queries";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_1fr] gap-2 py-1">
      <dt className="font-medium">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

function Runtime({ plugin }: { plugin: PluginDetail }) {
  const runtime = plugin.runtime;
  if (!runtime) return <Row label="Process">not run by this node</Row>;
  const layers = runtime.isolation ? Object.entries(runtime.isolation).filter(([, on]) => on).map(([layer]) => layer) : [];
  return (
    <>
      <Row label="Process">
        <RunState runtime={runtime} withReason={false} /> {runtime.enabled ? "(enabled)" : "(not enabled)"}
        {runtime.since && (
          <span className="text-slate-600 dark:text-slate-400">
            {" "}since <When at={runtime.since} />
          </span>
        )}
      </Row>
      {runtime.reason && <Row label="Why">{runtime.state !== "running" && isOverloaded(runtime.reason) ? `stopped by the CPU watchdog: ${runtime.reason}` : runtime.reason}</Row>}
      <Row label="Restarts">{String(runtime.restarts)}</Row>
      {runtime.capabilities.length > 0 && <Row label="Offers">{runtime.capabilities.join(", ")}</Row>}
      {runtime.isolation && <Row label="Isolation">{layers.length > 0 ? layers.join(", ") : "none of prlimit, network namespace, permission model, file boundary"}</Row>}
    </>
  );
}

export function PluginDetailPanel({ id }: { id: string }) {
  const detail = usePlugin(id);
  const plugin = detail.data;
  return (
    <Panel title={`Plugin ${id}`}>
      <ErrorNotice error={detail.error} title="The plugin could not be read" />
      {detail.isPending && <p role="status">Loading…</p>}
      {plugin && (
        <dl className="text-sm" aria-label={`Plugin ${id}`}>
          {plugin.manifest?.description && <Row label="Description">{plugin.manifest.description}</Row>}
          <Row label="Permissions">
            {plugin.manifest ? (
              plugin.manifest.permissions.length > 0 ? (
                <ul aria-label={`Permissions of ${id}`}>
                  {plugin.manifest.permissions.map((permission) => {
                    const described = describePermission(permission);
                    return (
                      <li key={permission}>
                        <span className="font-mono">{permission}</span>
                        {described.grants && <span className="text-slate-600 dark:text-slate-400">{` — ${described.grants}`}</span>}
                      </li>
                    );
                  })}
                </ul>
              ) : (
                "none"
              )
            ) : (
              "—"
            )}
          </Row>
          {plugin.manifest && <Row label="CPU limit">{cpuLimitWords(plugin.manifest.limits) ?? `its trust level's (${plugin.trust.level}) share; the manifest narrows nothing`}</Row>}
          <Row label="Capabilities">
            {plugin.manifest && plugin.manifest.capabilities.length > 0 ? (
              <ul>
                {plugin.manifest.capabilities.map((capability) => (
                  <li key={capability.name}>
                    <span className="font-mono">{capability.name}</span>
                    {capability.description && ` — ${capability.description}`}
                  </li>
                ))}
              </ul>
            ) : (
              "none"
            )}
          </Row>
          {plugin.manifest?.ui && <Row label="UI">{plugin.manifest.ui.menu && plugin.manifest.ui.page ? `menu entry, page ${plugin.manifest.ui.page}` : "no page"}</Row>}
          <Row label="Trust">
            {plugin.trust.level}: {plugin.trust.reason}
            {plugin.trust.signer && <span className="block font-mono text-xs">{plugin.trust.signer}</span>}
          </Row>
          <Row label="Node API">{plugin.compatibility.reason}</Row>
          <Runtime plugin={plugin} />
          <Row label="Folder">
            <span className="font-mono text-xs">{plugin.path}</span>
          </Row>
          {plugin.errors.length > 0 && (
            <Row label="Problems">
              <ul className="list-disc pl-5">
                {plugin.errors.map((problem) => (
                  <li key={`${problem.file}:${problem.field ?? ""}:${problem.message}`}>{`${problem.file}${problem.field ? ` (${problem.field})` : ""}: ${problem.message}`}</li>
                ))}
              </ul>
            </Row>
          )}
        </dl>
      )}
    </Panel>
  );
}
