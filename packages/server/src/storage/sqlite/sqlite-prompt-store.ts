/**
 * @module storage/sqlite/sqlite-prompt-store
 * The SQLite backend of `PromptStore` (tables of migration 10), on the backend's connection. Reads run synchronously;
 * a save (the next version, the head, the search row) is one atomic entry of the backend's group-commit batches and
 * reads the newest version number inside itself, so two racing saves get consecutive numbers. Full-text search is an
 * FTS5 table over the normalised words of `promptSearchText`; queries are built from `searchWords` only (quoted
 * prefix terms), so no caller text reaches FTS5's query syntax.
 */
import type { Database, Statement } from "better-sqlite3";
import type { PromptInfo, PromptVersion } from "@kai/protocol";
import { decodeHead, decodeVersion, nextHead, promptSearchText, versionOf, withLatest, type PromptListQuery, type PromptPage, type PromptSave, type PromptSaveOutcome, type PromptStore } from "../contracts/prompt-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/** Migration 10. Names sort in byte order (SQLite's default BINARY collation), the listing's order on every backend. */
export const PROMPT_SCHEMA = `
  CREATE TABLE prompts (
    name       TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    visibility TEXT NOT NULL,
    latest     INTEGER NOT NULL,
    doc        TEXT NOT NULL
  );
  CREATE INDEX prompts_owner ON prompts (owner, name);

  CREATE TABLE prompt_versions (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;

  -- One row per prompt: its words (name, description, tags, newest template), rewritten at each save.
  CREATE VIRTUAL TABLE prompt_search USING fts5(name UNINDEXED, words, tokenize = 'unicode61');
`;

interface HeadRow {
  doc: string;
  latest: number;
}

export class SqlitePromptStore implements PromptStore {
  private readonly selectHead: Statement<[string], HeadRow>;
  private readonly upsertHead: Statement<[string, string, string, number, string]>;
  private readonly insertVersion: Statement<[string, number, string]>;
  private readonly selectVersion: Statement<[string, number], { doc: string }>;
  private readonly selectVersions: Statement<[string, number, number], { doc: string }>;
  private readonly updateDoc: Statement<[string, string]>;
  private readonly deleteSearch: Statement<[string]>;
  private readonly insertSearch: Statement<[string, string]>;
  private readonly deleteHead: Statement<[string]>;
  private readonly deleteVersions: Statement<[string]>;

  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.selectHead = db.prepare("SELECT doc, latest FROM prompts WHERE name = ?");
    this.upsertHead = db.prepare(
      "INSERT INTO prompts (name, owner, visibility, latest, doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET visibility = excluded.visibility, latest = excluded.latest, doc = excluded.doc",
    );
    this.insertVersion = db.prepare("INSERT INTO prompt_versions (name, version, doc) VALUES (?, ?, ?)");
    this.selectVersion = db.prepare("SELECT doc FROM prompt_versions WHERE name = ? AND version = ?");
    this.selectVersions = db.prepare("SELECT doc FROM prompt_versions WHERE name = ? AND version < ? ORDER BY version DESC LIMIT ?");
    this.updateDoc = db.prepare("UPDATE prompts SET doc = ? WHERE name = ?");
    this.deleteSearch = db.prepare("DELETE FROM prompt_search WHERE name = ?");
    this.insertSearch = db.prepare("INSERT INTO prompt_search (name, words) VALUES (?, ?)");
    this.deleteHead = db.prepare("DELETE FROM prompts WHERE name = ?");
    this.deleteVersions = db.prepare("DELETE FROM prompt_versions WHERE name = ?");
  }

  savePrompt(save: PromptSave): Promise<PromptSaveOutcome> {
    return this.hooks.enqueue((): PromptSaveOutcome => {
      const row = this.selectHead.get(save.name);
      const old = row ? decodeHead(row.doc) : null;
      if (old && old.owner !== save.owner) return { ok: false, reason: "owner_mismatch" };
      const number = (row?.latest ?? 0) + 1;
      const head = nextHead(old, save, number);
      const version = versionOf(save, number);
      this.insertVersion.run(save.name, number, JSON.stringify(version));
      this.upsertHead.run(save.name, head.owner, head.visibility, number, JSON.stringify(head));
      this.deleteSearch.run(save.name);
      this.insertSearch.run(save.name, promptSearchText(head, version.template));
      return { ok: true, prompt: withLatest(head, number), version };
    });
  }

  async getPrompt(name: string): Promise<PromptInfo | null> {
    this.hooks.assertOpen();
    const row = this.selectHead.get(name);
    return row ? withLatest(decodeHead(row.doc), row.latest) : null;
  }

  async getVersion(name: string, version: number): Promise<PromptVersion | null> {
    this.hooks.assertOpen();
    const row = this.selectVersion.get(name, version);
    return row ? decodeVersion(row.doc) : null;
  }

  async listVersions(name: string, limit: number, before?: number): Promise<PromptVersion[]> {
    this.hooks.assertOpen();
    return this.selectVersions.all(name, before ?? Number.MAX_SAFE_INTEGER, limit).map((row) => decodeVersion(row.doc));
  }

  setLabel(name: string, label: string, version: number | null): Promise<PromptInfo | null> {
    return this.hooks.enqueue(() => {
      const row = this.selectHead.get(name);
      if (!row) return null;
      const head = decodeHead(row.doc);
      if (version === null) delete head.labels[label];
      else if (version > row.latest) return null;
      else head.labels[label] = version;
      this.updateDoc.run(JSON.stringify(head), name);
      return withLatest(head, row.latest);
    });
  }

  deletePrompt(name: string): Promise<boolean> {
    return this.hooks.enqueue(() => {
      const removed = this.deleteHead.run(name).changes === 1;
      this.deleteVersions.run(name);
      this.deleteSearch.run(name);
      return removed;
    });
  }

  async listPrompts(query: PromptListQuery): Promise<PromptPage> {
    this.hooks.assertOpen();
    const where: string[] = [];
    const values: unknown[] = [];
    if (!query.viewer.admin) {
      where.push("(owner = ? OR visibility = 'shared')");
      values.push(query.viewer.owner);
    }
    if (query.owner !== undefined) {
      where.push("owner = ?");
      values.push(query.owner);
    }
    if (query.tag !== undefined) {
      where.push("EXISTS (SELECT 1 FROM json_each(prompts.doc, '$.tags') WHERE value = ?)");
      values.push(query.tag);
    }
    if (query.words !== undefined && query.words.length > 0) {
      // `searchWords` output is letters and digits only: quoting each as a prefix term cannot break out of FTS5 syntax.
      where.push("name IN (SELECT name FROM prompt_search WHERE prompt_search MATCH ?)");
      values.push(query.words.map((word) => `"${word}"*`).join(" "));
    }
    if (query.cursor !== undefined) {
      where.push("name > ?");
      values.push(query.cursor);
    }
    const sql = `SELECT doc, latest FROM prompts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY name LIMIT ?`;
    const rows = this.db.prepare<unknown[], HeadRow>(sql).all(...values, query.limit + 1);
    const prompts = rows.slice(0, query.limit).map((row) => withLatest(decodeHead(row.doc), row.latest));
    return { prompts, nextCursor: rows.length > query.limit ? prompts[prompts.length - 1]!.name : null };
  }
}
