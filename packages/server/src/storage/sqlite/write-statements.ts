/**
 * @module storage/sqlite/write-statements
 * The statements a service write runs, by name. A write is planned as a list of `WriteOp`s (statement
 * name + parameters), which either the store's own connection runs at once or the writer thread runs
 * in its transaction (writer-thread.ts); both prepare the SQL from this one table, so the two paths
 * cannot drift apart.
 */

/**
 * Tag and capability rows are inserted with one multi-row statement per table and write, up to this many
 * rows (more are split): one statement step instead of one per term.
 */
export const MAX_TERMS_PER_INSERT = 8;

const termInserts = (table: string, column: string): string[] =>
  Array.from(
    { length: MAX_TERMS_PER_INSERT },
    (_, i) => `INSERT OR IGNORE INTO ${table} (${column}, seq) VALUES ${Array.from({ length: i + 1 }, () => "(?, ?)").join(", ")}`,
  );

export const WRITE_SQL = {
  insertEvent: ["INSERT INTO events (revision, event, service_id, doc) VALUES (?, ?, ?, ?)"],
  /**
   * The event of a service row just written, its document made by SQLite from the row's: the stored document with
   * `"revision":<revision>` added before its closing brace, exactly what record-codec.ts `eventDocOf` builds. Why:
   * a bulk load's planner then neither builds a second 600-byte string per record nor sends it to the writer
   * thread twice (issue 19: allocation was half of the bulk load's CPU). Run after the service row's insert or update
   * (its seq is the parameter).
   */
  insertEventOfService: [
    `INSERT INTO events (revision, event, service_id, doc)
     SELECT revision, ?, id, substr(doc, 1, length(doc) - 1) || ',"revision":' || revision || '}' FROM services WHERE seq = ?`,
  ],
  // Positional parameters (see serviceColumns in record-codec.ts): binding an array is cheaper than named ones.
  // Rows are found by seq (the rowid), never by id: there is no index on id (migration 15); the store knows which
  // seq holds an id, and whether the id is stored at all, so it chooses between the two statements.
  insertService: [
    `INSERT INTO services (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ],
  // The parameters of serviceUpdateColumns. seq is never changed: a record keeps its place in the listing order.
  updateService: [
    `UPDATE services SET owner = ?, visibility = ?, type = ?, provider = ?, status = ?, ttl = ?, heartbeat_at = ?, updated_at = ?,
       revision = ?, search = ?, doc = ?
     WHERE seq = ? AND id = ?`,
  ],
  // By exact key: the (tag, seq) primary key finds the row; there is no per-service index to keep up (migration 3).
  deleteTag: ["DELETE FROM service_tags WHERE tag = ? AND seq = ?"],
  deleteCapability: ["DELETE FROM service_capabilities WHERE capability = ? AND seq = ?"],
  /** Index n inserts n + 1 rows. */
  insertTags: termInserts("service_tags", "tag"),
  insertCapabilities: termInserts("service_capabilities", "capability"),
} as const;

export type WriteStatementName = keyof typeof WRITE_SQL;

export type SqlValue = string | number | null;

/** One statement run: its name, the variant (index into `WRITE_SQL[name]`), and its positional parameters. */
export type WriteOp = [name: WriteStatementName, variant: number, params: SqlValue[]];

/** Where a planned write sends its statements. */
export type WriteSink = (op: WriteOp) => void;
