/**
 * @module storage/postgres/pg-prompt-store
 * The PostgreSQL backend of `PromptStore` (tables of migration 6), shared by every instance of the node. A save or a
 * label change takes a transaction-scoped advisory lock on the prompt's name first, so two writers of one prompt
 * (instances, or two requests) take turns even when the prompt does not exist yet: versions stay consecutive and
 * a label never points past the newest one. Full-text search is a `simple` tsvector of the normalised words of
 * `promptSearchText` with a GIN index; queries are prefix tsqueries built from `searchWords` only (letters and
 * digits), so no caller text reaches `to_tsquery`'s syntax.
 */
import type { PromptInfo, PromptVersion } from "@kai/protocol";
import { decodeHead, decodeVersion, nextHead, promptSearchText, versionOf, withLatest, type PromptListQuery, type PromptPage, type PromptSave, type PromptSaveOutcome, type PromptStore } from "../contracts/prompt-store.js";
import type { PgDatabase } from "./pg-database.js";
import type pg from "pg";

/** Migration 6. Names sort in byte order (`COLLATE "C"`), as on the other backends. */
export const PROMPT_SCHEMA = `
  CREATE TABLE prompts (
    name       text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL,
    visibility text NOT NULL,
    latest     integer NOT NULL,
    tags       text[] NOT NULL,
    search     tsvector NOT NULL,
    doc        text NOT NULL
  );
  CREATE INDEX prompts_owner ON prompts (owner, name);
  CREATE INDEX prompts_search ON prompts USING gin (search);

  CREATE TABLE prompt_versions (
    name    text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    doc     text NOT NULL,
    PRIMARY KEY (name, version)
  );
`;

interface HeadRow {
  doc: string;
  latest: number;
  [column: string]: unknown;
}

/** Serialises the writers of one prompt until the transaction ends (the key space is shared with no other lock). */
const lockName = (client: pg.PoolClient, name: string) => client.query("SELECT pg_advisory_xact_lock(hashtextextended('kai-prompt:' || $1, 0))", [name]);

export class PgPromptStore implements PromptStore {
  constructor(private readonly db: PgDatabase) {}

  savePrompt(save: PromptSave): Promise<PromptSaveOutcome> {
    return this.db.transaction(async (client): Promise<PromptSaveOutcome> => {
      await lockName(client, save.name);
      const { rows } = await client.query<HeadRow>("SELECT doc, latest FROM prompts WHERE name = $1", [save.name]);
      const old = rows[0] ? decodeHead(rows[0].doc) : null;
      if (old && old.owner !== save.owner) return { ok: false, reason: "owner_mismatch" };
      const number = (rows[0]?.latest ?? 0) + 1;
      const head = nextHead(old, save, number);
      const version = versionOf(save, number);
      await client.query("INSERT INTO prompt_versions (name, version, doc) VALUES ($1, $2, $3)", [save.name, number, JSON.stringify(version)]);
      await client.query(
        `INSERT INTO prompts (name, owner, visibility, latest, tags, search, doc) VALUES ($1, $2, $3, $4, $5, to_tsvector('simple', $6), $7)
         ON CONFLICT (name) DO UPDATE SET visibility = excluded.visibility, latest = excluded.latest, tags = excluded.tags, search = excluded.search, doc = excluded.doc`,
        [save.name, head.owner, head.visibility, number, head.tags, promptSearchText(head, version.template), JSON.stringify(head)],
      );
      return { ok: true, prompt: withLatest(head, number), version };
    });
  }

  async getPrompt(name: string): Promise<PromptInfo | null> {
    const rows = await this.db.query<HeadRow>("SELECT doc, latest FROM prompts WHERE name = $1", [name]);
    return rows[0] ? withLatest(decodeHead(rows[0].doc), rows[0].latest) : null;
  }

  async getVersion(name: string, version: number): Promise<PromptVersion | null> {
    const rows = await this.db.query<{ doc: string }>("SELECT doc FROM prompt_versions WHERE name = $1 AND version = $2", [name, version]);
    return rows[0] ? decodeVersion(rows[0].doc) : null;
  }

  async listVersions(name: string, limit: number, before?: number): Promise<PromptVersion[]> {
    const rows = await this.db.query<{ doc: string }>("SELECT doc FROM prompt_versions WHERE name = $1 AND version < $2 ORDER BY version DESC LIMIT $3", [
      name,
      before ?? 2_147_483_647,
      limit,
    ]);
    return rows.map((row) => decodeVersion(row.doc));
  }

  setLabel(name: string, label: string, version: number | null): Promise<PromptInfo | null> {
    return this.db.transaction(async (client) => {
      await lockName(client, name);
      const { rows } = await client.query<HeadRow>("SELECT doc, latest FROM prompts WHERE name = $1", [name]);
      const row = rows[0];
      if (!row) return null;
      const head = decodeHead(row.doc);
      if (version === null) delete head.labels[label];
      else if (version > row.latest) return null;
      else head.labels[label] = version;
      await client.query("UPDATE prompts SET doc = $1 WHERE name = $2", [JSON.stringify(head), name]);
      return withLatest(head, row.latest);
    });
  }

  deletePrompt(name: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      await lockName(client, name);
      const removed = await client.query("DELETE FROM prompts WHERE name = $1", [name]);
      await client.query("DELETE FROM prompt_versions WHERE name = $1", [name]);
      return removed.rowCount === 1;
    });
  }

  async listPrompts(query: PromptListQuery): Promise<PromptPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (!query.viewer.admin) {
      values.push(query.viewer.owner);
      where.push(`(owner = $${values.length} OR visibility = 'shared')`);
    }
    if (query.owner !== undefined) {
      values.push(query.owner);
      where.push(`owner = $${values.length}`);
    }
    if (query.tag !== undefined) {
      values.push(query.tag);
      where.push(`$${values.length} = ANY(tags)`);
    }
    if (query.words !== undefined && query.words.length > 0) {
      // `searchWords` output is letters and digits only: `word:*` terms joined by & cannot break out of tsquery syntax.
      values.push(query.words.map((word) => `${word}:*`).join(" & "));
      where.push(`search @@ to_tsquery('simple', $${values.length})`);
    }
    if (query.cursor !== undefined) {
      values.push(query.cursor);
      where.push(`name > $${values.length}`);
    }
    values.push(query.limit + 1);
    const rows = await this.db.query<HeadRow>(`SELECT doc, latest FROM prompts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY name LIMIT $${values.length}`, values);
    const prompts = rows.slice(0, query.limit).map((row) => withLatest(decodeHead(row.doc), row.latest));
    return { prompts, nextCursor: rows.length > query.limit ? prompts[prompts.length - 1]!.name : null };
  }
}
