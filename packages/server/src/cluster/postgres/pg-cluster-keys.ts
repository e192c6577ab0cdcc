/**
 * @module cluster/postgres/pg-cluster-keys
 * The fixed names several instances agree on without talking: advisory lock keys, the NOTIFY channel, the
 * leadership row, and the SQL a singleton job runs to fence its writes by epoch.
 *
 * The locks use PostgreSQL's two-key form `(namespace, key)`, a key space apart from the one-bigint form the
 * migration runner uses (`MIGRATION_LOCK`), so the two can never collide.
 */

/** First key of every cluster advisory lock: "kai" in ASCII. */
export const LOCK_NAMESPACE = 0x6b6169;
/** Session lock held, on the dedicated connection, by the leader for as long as it leads. */
export const LEADER_LOCK = 1;
/** Transaction lock a publisher holds while it picks the next signal id, so ids commit in order. */
export const SIGNAL_ID_LOCK = 2;

/** Channel a signal's transaction notifies (payload: the signal id); it only means "read the log". */
export const SIGNAL_CHANNEL = "kai_signals";

/** The one singleton-job group today: every singleton job runs on the leader of 'singletons'. */
export const SINGLETON_JOB = "singletons";

/**
 * Fencing for a singleton job's write: run inside the job's transaction before writing, with the job's epoch as
 * `$1`. No row means a newer leader exists, so the job must roll back. `FOR SHARE` holds the leadership row until
 * commit: a new leader's epoch bump waits for the old leader's transaction, so the two never write interleaved.
 */
export const LEADER_FENCE_SQL = `SELECT 1 FROM cluster_leader WHERE job = '${SINGLETON_JOB}' AND epoch = $1 FOR SHARE`;
