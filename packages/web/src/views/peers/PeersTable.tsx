/**
 * @module views/peers/PeersTable
 * Every federation peer: name and URL, pinned DID, trust, link state, sync position and lag, last contact, records
 * imported and statements refused; and the actions on it: withdraw or give back trust, show what was imported from it,
 * remove it (after asking: its imported records go too). States are words, not only colours.
 */
import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import type { klp } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Badge, type Tone } from "../../components/Badge";
import { Button } from "../../components/Button";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorNotice } from "../../components/ErrorNotice";
import { When } from "../../components/When";
import { useRefreshPeers } from "./peers-queries";

const CELL = "px-2 py-1.5 align-top";

const STATE_TONE: Record<klp.PeerInfo["state"], Tone> = { connected: "good", connecting: "warn", disconnected: "bad", untrusted: "neutral" };

export const peerLabel = (peer: klp.PeerInfo) => peer.name ?? peer.url;

/** How far behind the peer this node is; known only as of the last contact while the link is down. */
function lagWords(peer: klp.PeerInfo): string {
  if (!peer.trusted) return "not syncing";
  const lag = peer.lagRevisions === 0 ? "caught up" : `${peer.lagRevisions} revision${peer.lagRevisions === 1 ? "" : "s"} behind`;
  // A peer that cannot be reached may have changed since: "caught up" alone would claim what nobody knows.
  return peer.state === "disconnected" ? `${lag} at last contact` : lag;
}

export interface PeersTableProps {
  peers: klp.PeerInfo[];
  shown: ReadonlySet<string>;
  canSeeRecords: boolean;
  onToggleRecords(did: string): void;
}

export function PeersTable({ peers, shown, canSeeRecords, onToggleRecords }: PeersTableProps) {
  const client = useClient();
  const refresh = useRefreshPeers();
  const [removing, setRemoving] = useState<klp.PeerInfo>();
  const trust = useMutation({ mutationFn: (input: { did: string; trusted: boolean }) => client.peers.setTrusted(input.did, input.trusted), onSettled: refresh });
  const remove = useMutation({
    mutationFn: (did: string) => client.peers.remove(did),
    onSuccess: async () => {
      setRemoving(undefined);
      await refresh();
    },
  });

  return (
    <div className="space-y-2">
      <ErrorNotice error={trust.error} title="The peer's trust was not changed" />
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm" aria-label="Peers">
          <thead className="border-b border-slate-200 dark:border-slate-700">
            <tr>
              <th scope="col" className={CELL}>Peer</th>
              <th scope="col" className={CELL}>DID</th>
              <th scope="col" className={CELL}>Trust</th>
              <th scope="col" className={CELL}>Link</th>
              <th scope="col" className={CELL}>Sync</th>
              <th scope="col" className={CELL}>Last contact</th>
              <th scope="col" className={CELL}>Imported</th>
              <th scope="col" className={CELL}>Refused</th>
              <th scope="col" className={CELL}>Actions</th>
            </tr>
          </thead>
          <tbody>
            {peers.map((peer) => {
              const label = peerLabel(peer);
              const refused = Object.entries(peer.rejected);
              return (
                <tr key={peer.did} className="border-b border-slate-100 dark:border-slate-800">
                  <th scope="row" className={`${CELL} font-normal`}>
                    <span className="font-medium">{label}</span>
                    {peer.name && <span className="block text-xs text-slate-600 dark:text-slate-400">{peer.url}</span>}
                    <span className="block text-xs text-slate-600 dark:text-slate-400">
                      added <When at={peer.addedAt} />
                    </span>
                  </th>
                  <td className={`${CELL} max-w-[16rem] break-all font-mono text-xs`}>{peer.did}</td>
                  <td className={CELL}>
                    <Badge tone={peer.trusted ? "good" : "warn"}>{peer.trusted ? "trusted" : "not trusted"}</Badge>
                  </td>
                  <td className={CELL}>
                    <Badge tone={STATE_TONE[peer.state]}>{peer.state}</Badge>
                    {peer.lastError && <span className="block text-xs text-red-800 dark:text-red-300">{peer.lastError}</span>}
                  </td>
                  <td className={CELL}>
                    <span data-testid={`peer-lag-${peer.did}`}>{lagWords(peer)}</span>
                    <span className="block text-xs text-slate-600 dark:text-slate-400">at revision {peer.cursor}</span>
                  </td>
                  <td className={CELL}>
                    <When at={peer.lastContact} />
                  </td>
                  <td className={CELL}>{peer.importedRecords}</td>
                  <td className={CELL}>{refused.length === 0 ? "none" : refused.map(([code, count]) => `${code}: ${count}`).join(", ")}</td>
                  <td className={`${CELL} whitespace-nowrap`}>
                    <div className="flex flex-wrap gap-2">
                      <Button
                        aria-label={`${peer.trusted ? "Withdraw trust from" : "Trust"} ${label}`}
                        busy={trust.isPending && trust.variables?.did === peer.did}
                        onClick={() => trust.mutate({ did: peer.did, trusted: !peer.trusted })}
                      >
                        {peer.trusted ? "Withdraw trust" : "Trust"}
                      </Button>
                      {canSeeRecords && (
                        <Button aria-label={`Records from ${label}`} aria-expanded={shown.has(peer.did)} onClick={() => onToggleRecords(peer.did)}>
                          Records
                        </Button>
                      )}
                      <Button look="danger" aria-label={`Remove ${label}`} onClick={() => setRemoving(peer)}>
                        Remove
                      </Button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {removing && (
        <ConfirmDialog
          open
          title={`Remove ${peerLabel(removing)}?`}
          confirmLabel="Remove peer"
          busy={remove.isPending}
          onConfirm={() => remove.mutate(removing.did)}
          onCancel={() => {
            remove.reset();
            setRemoving(undefined);
          }}
        >
          <p>
            The {removing.importedRecords} record{removing.importedRecords === 1 ? "" : "s"} imported from it are dropped and its link is cut. To stop
            importing but keep it listed, withdraw trust instead.
          </p>
          <ErrorNotice error={remove.error} title="The peer was not removed" />
        </ConfirmDialog>
      )}
    </div>
  );
}
