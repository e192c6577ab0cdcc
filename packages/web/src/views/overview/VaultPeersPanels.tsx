/**
 * @module views/overview/VaultPeersPanels
 * The vault's state (any signed-in user may read it) and the federation peers' sync state (federation:admin):
 * whether each peer is connected, how far behind this node is, and when it last heard from it.
 */
import { Link } from "react-router";
import type { VaultStatus } from "@kai/sdk";
import type { klp } from "@kai/protocol";
import { Badge } from "../../components/Badge";
import { Panel } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatCount } from "../../components/charts/format";
import { When } from "../../components/When";
import { useCan } from "../../app/session";
import { toneFor } from "../../components/status-tones";
import { usePeerStates, useVaultState } from "./overview-queries";

function vaultWord(vault: VaultStatus): string {
  if (!vault.initialized) return "not initialised";
  return vault.locked ? "locked" : "unlocked";
}

export function VaultPanel() {
  const vault = useVaultState();
  const canOpen = useCan("vault:read");
  return (
    <Panel title="Vault">
      <ErrorNotice error={vault.error} title="The vault's state could not be read" />
      {vault.data && (
        <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm">
          <dt>State</dt>
          <dd>
            <Badge tone={toneFor(vaultWord(vault.data))}>{vaultWord(vault.data)}</Badge>
            {vault.data.autoUnlock && <span className="ml-2 text-xs">(unlocks itself)</span>}
          </dd>
          {vault.data.secrets !== null && (
            <>
              <dt>Secrets</dt>
              <dd>{formatCount(vault.data.secrets)}</dd>
            </>
          )}
          {vault.data.keyVersion !== null && (
            <>
              <dt>Key version</dt>
              <dd>{vault.data.keyVersion}</dd>
            </>
          )}
        </dl>
      )}
      {canOpen && (
        <p className="mt-3 text-sm">
          <Link to="/vault" className="underline">
            Open the vault
          </Link>
        </p>
      )}
    </Panel>
  );
}

function PeerRow({ peer }: { peer: klp.PeerInfo }) {
  return (
    <tr>
      <th scope="row" className="max-w-[16rem] truncate pr-2 font-normal" title={peer.did}>
        {peer.name ?? peer.did}
      </th>
      <td className="pr-2">
        <Badge tone={toneFor(peer.state)}>{peer.state}</Badge>
      </td>
      <td className="pr-2">{peer.lagRevisions === 0 ? "in sync" : `${formatCount(peer.lagRevisions)} behind`}</td>
      <td className="pr-2">{formatCount(peer.importedRecords)}</td>
      <td>
        <When at={peer.lastContact} />
      </td>
    </tr>
  );
}

export function PeersPanel() {
  const peers = usePeerStates();
  if (!peers.allowed) return null;
  return (
    <Panel title="Peers">
      <ErrorNotice error={peers.error} title="The peers could not be read" />
      {peers.data && peers.data.length === 0 && <p className="text-sm">No federation peers. This node shares with nobody.</p>}
      {peers.data && peers.data.length > 0 && (
        <table className="w-full text-left text-sm">
          <caption className="sr-only">Federation peers and their sync state</caption>
          <thead>
            <tr>
              <th scope="col">Peer</th>
              <th scope="col">State</th>
              <th scope="col">Sync</th>
              <th scope="col">Imported</th>
              <th scope="col">Last contact</th>
            </tr>
          </thead>
          <tbody>
            {peers.data.map((peer) => (
              <PeerRow key={peer.did} peer={peer} />
            ))}
          </tbody>
        </table>
      )}
      <p className="mt-3 text-sm">
        <Link to="/peers" className="underline">
          Manage peers
        </Link>
      </p>
    </Panel>
  );
}
