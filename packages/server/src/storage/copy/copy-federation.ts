/**
 * @module storage/copy/copy-federation
 * Copies the federation's store (contracts/federation-store.ts): the peers with their sync cursors and the
 * records imported from them, as the signed statements they arrived as. The cursors stay valid because they
 * count the PEERS' revisions, which the copy does not touch; the node keeps pulling where it left off.
 */
import type { FederationStore, ImportedRow } from "../contracts/federation-store.js";
import type { Progress } from "./copy-node.js";

/** Imported records per transaction. */
const IMPORT_BATCH = 500;

export async function copyFederation(source: FederationStore, target: FederationStore, progress: Progress): Promise<{ peers: number; imports: number }> {
  const peers = await source.listPeers();
  for (const peer of peers) await target.savePeer(peer);

  const byOrigin = new Map<string, ImportedRow[]>();
  const imports = await source.listImports();
  for (const row of imports) {
    const rows = byOrigin.get(row.origin) ?? [];
    rows.push(row);
    byOrigin.set(row.origin, rows);
  }
  for (const [origin, rows] of byOrigin) {
    // No cursor in the batch: the peer row written above already carries it.
    for (let start = 0; start < rows.length; start += IMPORT_BATCH) {
      await target.applyImports({ origin, upserts: rows.slice(start, start + IMPORT_BATCH), deletes: [] });
    }
  }
  progress(`federation: ${peers.length} peers, ${imports.length} imported records copied`);
  return { peers: peers.length, imports: imports.length };
}
