/**
 * @module commands/peer-format
 * How `kai peer` prints a peer: one table row, or key/value lines for `show`.
 */
import type { klp } from "@kai/protocol";
import { cell } from "../output.js";


export const PEER_HEADERS = ["DID", "NAME", "URL", "STATE", "LAST CONTACT", "LAG", "IMPORTED", "REJECTED"];

function rejectedText(peer: klp.PeerInfo): string {
  const entries = Object.entries(peer.rejected);
  return entries.length === 0 ? "0" : entries.map(([code, count]) => `${code}=${count}`).join(",");
}

export function peerRow(peer: klp.PeerInfo): string[] {
  return [peer.did, cell(peer.name), peer.url, peer.state, cell(peer.lastContact), String(peer.lagRevisions), String(peer.importedRecords), rejectedText(peer)];
}

export function describePeer(peer: klp.PeerInfo): Array<[string, string]> {
  return [
    ["did", peer.did],
    ["name", cell(peer.name)],
    ["url", peer.url],
    ["trusted", peer.trusted ? "yes" : "no"],
    ["added", peer.addedAt],
    ["state", peer.state],
    ["last contact", cell(peer.lastContact)],
    ["last error", cell(peer.lastError)],
    ["cursor", String(peer.cursor)],
    ["lag (revisions)", String(peer.lagRevisions)],
    ["imported records", String(peer.importedRecords)],
    ["rejected", rejectedText(peer)],
  ];
}
