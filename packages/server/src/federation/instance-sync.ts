/**
 * @module federation/instance-sync
 * Keeps the instances of one node agreeing on federation state that each holds in memory (the peer list and the
 * imported-records directory), over the coordination port:
 * - after this instance commits a change (a peer added, removed or (un)trusted through the API; records imported,
 *   dropped or expired by the leader's links and sweep), it announces what changed: batched, so a burst of pushed
 *   statements makes a few signals, and retried while the database is away;
 * - when another instance announces a change, this one re-reads that part from the store, also batched (one
 *   re-read covers every signal that arrived meanwhile), and re-reads everything when signals may have been missed;
 * - the leader's link states (connecting, connected, disconnected) travel the same way, so every instance shows them.
 * The database is the truth; signals only say what to re-read, so a lost or repeated signal costs a re-read.
 */
import type { Logger } from "../logging/logger.js";
import { ChangeBatcher, type FederationChanges } from "./change-batcher.js";
import { parseFederationSignal, type FederationChange, type FederationCoordination } from "./coordination.js";

export interface InstanceSyncOptions {
  coordination: FederationCoordination;
  /** Re-reads what other instances changed (the federation service's `reloadFromStore`). */
  reload: (changes: FederationChanges) => Promise<void>;
  logger: Logger;
  /** Signals of this instance's changes go out at most this often (ms). */
  publishDelayMs?: number;
  /** Re-reads after other instances' signals run at most this often (ms). */
  reloadDelayMs?: number;
  /** A failed publish or re-read is tried again after this long (ms). */
  retryMs?: number;
}

export class InstanceSync {
  private readonly outgoing: ChangeBatcher;
  private readonly incoming: ChangeBatcher;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly options: InstanceSyncOptions) {
    const { coordination, logger } = options;
    const retryMs = options.retryMs ?? 1000;
    this.outgoing = new ChangeBatcher({
      run: (changes) => this.publish(changes),
      delayMs: options.publishDelayMs ?? 50,
      retryMs,
      onError: (error) => logger.warn({ err: error }, "federation: telling the other instances of a change failed; retrying"),
    });
    this.incoming = new ChangeBatcher({
      run: options.reload,
      delayMs: options.reloadDelayMs ?? 50,
      retryMs,
      onError: (error) => logger.warn({ err: error }, "federation: re-reading what another instance changed failed; retrying"),
    });
    this.offs.push(
      coordination.subscribe((payload, fromSelf) => {
        if (fromSelf) return;
        const change = parseFederationSignal(payload);
        if (change) this.incoming.mark(change);
      }),
    );
    if (coordination.onMissed) this.offs.push(coordination.onMissed(() => this.incoming.mark({ all: true })));
  }

  /** Tells the other instances, soon, that this instance committed `change`. */
  announce(change: FederationChange): void {
    this.outgoing.mark(change);
  }

  /** Sends what is waiting to be announced now (leadership moving, shutdown). */
  flush(): Promise<void> {
    return this.outgoing.flush();
  }

  async close(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.incoming.close();
    await this.outgoing.flush();
    this.outgoing.close();
  }

  private async publish(changes: FederationChanges): Promise<void> {
    const { coordination } = this.options;
    // "Everything" covers the other re-reads; otherwise one small signal per kind of change (peers are few).
    if (changes.all) await coordination.publish({ all: true });
    else {
      if (changes.peers) await coordination.publish({ peers: true });
      for (const origin of changes.origins) await coordination.publish({ origin });
    }
    for (const link of changes.links.values()) await coordination.publish({ link });
  }
}
