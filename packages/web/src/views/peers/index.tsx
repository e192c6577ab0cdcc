/**
 * @module views/peers
 * The Peers page: the federation peers this node imports public records from, their trust, pinned DID, link and sync
 * state (read again every few seconds), the records imported from each origin; adding, trusting, removing, and a
 * "sync now" that pulls from every connected peer; and the nodes heard on the LAN by mDNS, to add with one click. Scope `federation:admin`; the records need `services:read` too.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useCan, useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Page, Panel } from "../../components/Page";
import { AddPeerForm } from "./AddPeerForm";
import { DiscoveredPeers } from "./DiscoveredPeers";
import { ImportedRecords } from "./ImportedRecords";
import { PeersTable, peerLabel } from "./PeersTable";
import { usePeers, useRefreshPeers } from "./peers-queries";

export default function PeersPage() {
  const client = useClient();
  const peers = usePeers();
  const refresh = useRefreshPeers();
  const canSeeRecords = useCan("services:read");
  const [adding, setAdding] = useState(false);
  const [shown, setShown] = useState<ReadonlySet<string>>(new Set());
  const sync = useMutation({ mutationFn: () => client.peers.sync(), onSettled: refresh });

  const toggle = (did: string) =>
    setShown((current) => {
      const next = new Set(current);
      if (next.has(did)) next.delete(did);
      else next.add(did);
      return next;
    });

  const list = peers.data ?? [];
  const total = list.reduce((sum, peer) => sum + peer.importedRecords, 0);
  return (
    <Page
      title="Peers"
      actions={
        <>
          <Button look="primary" aria-expanded={adding} onClick={() => setAdding((open) => !open)}>
            Add peer
          </Button>
          <Button busy={sync.isPending} disabled={list.length === 0} onClick={() => sync.mutate()}>
            Sync now
          </Button>
        </>
      }
    >
      {adding && (
        <Panel title="Add a peer">
          <AddPeerForm onDone={() => setAdding(false)} />
        </Panel>
      )}
      <ErrorNotice error={sync.error} title="Not every peer could be synced" />
      <ErrorNotice error={peers.error} title="The peers could not be listed" />
      {peers.isPending && <p role="status">Loading peers…</p>}
      {peers.data && list.length === 0 && (
        <Panel>
          <p className="text-sm">No peers yet. Add another node by its URL to import its public services; the peer does not have to add this node back.</p>
        </Panel>
      )}
      {list.length > 0 && (
        <Panel title={`Federation peers (${list.length}; ${total} record${total === 1 ? "" : "s"} imported)`}>
          <PeersTable peers={list} shown={shown} canSeeRecords={canSeeRecords} onToggleRecords={toggle} />
        </Panel>
      )}
      {list
        .filter((peer) => shown.has(peer.did))
        .map((peer) => (
          <Panel key={peer.did} title={`Imported from ${peerLabel(peer)}`}>
            <ImportedRecords did={peer.did} label={peerLabel(peer)} />
          </Panel>
        ))}
      <Panel title="On this network">
        <DiscoveredPeers />
      </Panel>
    </Page>
  );
}
