/**
 * @module views/overview
 * The Overview page: services by status and health, gateway traffic now and over the last hour (charts), the
 * vault's state and the peers' sync state. Live: registry changes heard on the WebSocket stream refetch the counts
 * at once; traffic is polled every few seconds (overview-queries.ts). Each part shows only what the session may
 * read: traffic needs metrics:read, peers federation:admin, what needs attention (kai doctor's checks) admin. The TLS
 * panel shows when the node uses TLS files.
 */
import { useQueryClient } from "@tanstack/react-query";
import { Page, Panel } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";
import { useRegistryChanges } from "../../components/live-registry";
import { When } from "../../components/When";
import { OVERVIEW_KEYS, useNodeStatus, useTrafficSummary } from "./overview-queries";
import { ServicesPanel } from "./ServicesPanel";
import { TrafficPanel } from "./TrafficPanel";
import { PeersPanel, VaultPanel } from "./VaultPeersPanels";
import { TlsPanel } from "./TlsPanel";
import { DoctorPanel } from "./DoctorPanel";

export default function OverviewPage() {
  const status = useNodeStatus();
  const summary = useTrafficSummary();
  const queries = useQueryClient();
  useRegistryChanges(status.data?.registry.revision, () => {
    void queries.invalidateQueries({ queryKey: OVERVIEW_KEYS.status });
    void queries.invalidateQueries({ queryKey: OVERVIEW_KEYS.summary });
  });

  const node = status.data?.node;
  return (
    <Page title="Overview">
      {node && (
        <p className="text-sm text-slate-700 dark:text-slate-300">
          kAI {node.version} · storage {node.storage} · up since <When at={node.startedAt} />
          {status.dataUpdatedAt > 0 && <> · updated <When at={status.dataUpdatedAt} kind="time" /></>}
        </p>
      )}
      <ErrorNotice error={status.error} title="The node's status could not be read" />
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="lg:col-span-2">{status.data ? <ServicesPanel status={status.data} health={summary.data?.health} /> : !status.error && <Panel title="Services"><p role="status">Loading…</p></Panel>}</div>
        <div className="flex flex-col gap-4">
          <VaultPanel />
          {node?.tls && <TlsPanel tls={node.tls} />}
        </div>
      </div>
      {summary.allowed ? (
        <>
          <ErrorNotice error={summary.error} title="Gateway traffic could not be read" />
          {summary.data ? <TrafficPanel summary={summary.data} /> : !summary.error && <Panel title="Gateway traffic"><p role="status">Loading…</p></Panel>}
        </>
      ) : (
        <Panel title="Gateway traffic">
          <p className="text-sm">Your role does not include metrics:read, so traffic figures are not shown.</p>
        </Panel>
      )}
      <DoctorPanel />
      <PeersPanel />
    </Page>
  );
}
