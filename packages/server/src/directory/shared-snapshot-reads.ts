/**
 * @module directory/shared-snapshot-reads
 * One read for many identical snapshots. When subscribers reconnect together (a node restarted, a thousand agents
 * watching `llm_chat` services), each subscription used to read its own snapshot: the same records read, parsed and
 * encoded once per subscription. The bench's thousand subscriptions on ten connections, each wanting the ~550
 * fan-out services, read and encoded ~1 GB of records for ~0.5 MB of distinct data, took ~11 s to get going, and
 * left the heap to be collected for seconds afterwards (docs/benchmarks.md, issue 19).
 *
 * A read is shared by subscriptions that would get exactly the same answer: the same viewer (owner and admin flag,
 * all that a listing depends on), the same filter, and the same feed revision when they asked. Changes published
 * after that revision are merged by each subscription from its own buffer, as for a read of its own, so a shared
 * read is as exact as a private one. The records are shared and never changed; so is their encoding as the
 * snapshot's `services` member, made once for every subscription that has nothing of its own to merge.
 *
 * A finished read stays joinable for a moment (subscribers of one reconnect arrive over a few hundred ms) while the
 * revision stays the same, and only while the finished reads kept hold few records in all: a snapshot of every record
 * is not kept for whoever comes next.
 */
import type { ServiceFilter, ServiceRecord } from "@kai/protocol";
import type { Viewer } from "../storage/contracts/viewer.js";

/** How long a finished read can still be joined (while no change was published). */
const KEEP_FINISHED_MS = 1_000;
/**
 * Finished reads keep at most this many records in all for later subscribers; a read that would go over is dropped
 * when it finishes (those who joined while it ran share it all the same).
 */
const KEEP_MOST_RECORDS = 10_000;
/** At most this many distinct reads are kept; more are read but not shared. */
const MOST_READS = 256;

/** The records of one shared read, in id order (the snapshot's order), and their encoding made on first use. */
export class SnapshotRecords {
  private json: Buffer | undefined;
  constructor(readonly services: readonly ServiceRecord[]) {}

  /** `services` as JSON (a JSON array), encoded once for every snapshot that sends exactly these records. */
  encoded(): Buffer {
    this.json ??= Buffer.from(JSON.stringify(this.services));
    return this.json;
  }
}

interface SharedRead {
  revision: number;
  records: Promise<SnapshotRecords>;
  /** Records it keeps for later subscribers once finished (counted in `kept`). */
  kept: number;
}

export class SharedSnapshotReads {
  private readonly reads = new Map<string, SharedRead>();
  /** Records held by finished reads kept for later subscribers. */
  private kept = 0;

  /**
   * The records `read` returns for this viewer and filter as of `revision` (the feed's revision when the subscription
   * asked): a read already running or just finished for the same question at the same revision, else a new one.
   * `read` hands over its array, which becomes the snapshot's (sorted in place).
   */
  records(viewer: Viewer, filter: ServiceFilter, revision: number, read: () => Promise<ServiceRecord[]>): Promise<SnapshotRecords> {
    const key = `${viewer.admin ? "1" : "0"}\u0000${viewer.owner}\u0000${JSON.stringify(filter)}`;
    const known = this.reads.get(key);
    if (known && known.revision === revision) return known.records;
    // The read's array is its own (a fresh one per read): sorted in place into the snapshot's order.
    const records = read().then((services) => new SnapshotRecords(services.sort(compareById)));
    if (known) this.forget(key, known);
    if (this.reads.size >= MOST_READS) return records;
    const entry: SharedRead = { revision, records, kept: 0 };
    this.reads.set(key, entry);
    records.then(
      (done) => {
        if (this.reads.get(key) !== entry || this.kept + done.services.length > KEEP_MOST_RECORDS) return this.forget(key, entry);
        entry.kept = done.services.length;
        this.kept += entry.kept;
        setTimeout(() => this.forget(key, entry), KEEP_FINISHED_MS).unref();
      },
      // A failed read is not shared with later subscribers: they read again.
      () => this.forget(key, entry),
    );
    return records;
  }

  private forget(key: string, entry: SharedRead): void {
    if (this.reads.get(key) !== entry) return;
    this.reads.delete(key);
    this.kept -= entry.kept;
  }

  /** A change was published: no read from before it answers for a subscription that asks from now on. */
  changed(): void {
    // Asked on every published change, and the map is nearly always empty: V8's `Map.prototype.clear` allocates a new
    // table even then (~240 bytes a change on a bulk load's path).
    if (this.reads.size === 0) return;
    this.reads.clear();
    this.kept = 0;
  }
}

/** A snapshot's order: by id. */
export const compareById = (a: Pick<ServiceRecord, "id">, b: Pick<ServiceRecord, "id">): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
