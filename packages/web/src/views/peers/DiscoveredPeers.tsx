/**
 * @module views/peers/DiscoveredPeers
 * "On this network": the nodes this node hears announcing themselves by mDNS (`federation.mdns`), read again every few
 * seconds. An announcement proves nothing, so "Add" sends the announced DID with the address: the node reads the
 * signed document there and refuses to pin a node that is not the DID announced (the same check as `kai peer discover
 * --add`). With discovery off, the panel says how to turn it on; a node that listens without announcing itself (on a
 * loopback address, or `federation.mdns.advertise: false`) says so, as `kai peer discover` does: the list alone would
 * let one think the others hear this node too.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import type { klp } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { peerKeys, useRefreshPeers } from "./peers-queries";

/** How often the LAN list is read again (the node itself listens continuously). */
const DISCOVERED_REFRESH_MS = 5_000;
const CELL = "px-2 py-1.5 align-top";

export function DiscoveredPeers() {
  const client = useClient();
  const refresh = useRefreshPeers();
  const discovered = useQuery({ queryKey: peerKeys.discovered, queryFn: () => client.peers.discovered(), refetchInterval: DISCOVERED_REFRESH_MS });
  const add = useMutation({
    mutationFn: (peer: klp.DiscoveredPeer) => client.peers.add({ url: peer.url, did: peer.did, name: peer.name }),
    onSettled: refresh,
  });

  if (discovered.error) return <ErrorNotice error={discovered.error} title="The nodes on this network could not be listed" />;
  if (!discovered.data) return <p role="status">Listening…</p>;
  if (!discovered.data.enabled) {
    // Turning it on alone announces nothing from a loopback address (the default server.host): said here, not found out later.
    return (
      <p className="text-sm">
        LAN discovery is off. Set <code>federation.mdns.enabled: true</code> to list the other nodes on this network; this node is announced to them only
        when it listens on an address they can reach (<code>server.host</code>, not a loopback address).
      </p>
    );
  }
  const peers = discovered.data.peers;
  return (
    <>
      {!discovered.data.advertising && (
        <p role="note" className="mb-2 text-sm text-slate-700 dark:text-slate-300">
          This node is not announced on the LAN, so other nodes do not hear it: it listens on a loopback address only (server.host), or
          federation.mdns.advertise is false.
        </p>
      )}
      <ErrorNotice error={add.error} title="The node was not added" />
      {peers.length === 0 ? (
        <p className="text-sm">No other node heard on this network yet.</p>
      ) : (
        <table aria-label="Nodes on this network" className="w-full text-left text-sm">
          <thead>
            <tr>
              <th className={CELL}>Name</th>
              <th className={CELL}>Address</th>
              <th className={CELL}>Announced DID</th>
              <th className={CELL}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {peers.map((peer) => (
              <tr key={`${peer.name}|${peer.did}`} className="border-t border-slate-200 dark:border-slate-700">
                <td className={CELL}>{peer.name}</td>
                <td className={CELL}>{peer.url}</td>
                <td className={`${CELL} break-all font-mono text-xs`}>{peer.did}</td>
                <td className={CELL}>
                  {peer.known ? (
                    "already a peer"
                  ) : (
                    <Button busy={add.isPending && add.variables?.did === peer.did} onClick={() => add.mutate(peer)} aria-label={`Add ${peer.name} as a peer`}>
                      Add
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
