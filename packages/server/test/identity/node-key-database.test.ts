/**
 * A data directory that names a node (its public key file, `node-key.pub.pem`) with a database that does not hold that
 * node: the start is refused with what to do, as a configuration error. Seen in a restore walkthrough: a node restored
 * into PostgreSQL but started without KAI_DATABASE_URL failed with `secret not found (internal)` on an empty SQLite
 * file; started on another, empty PostgreSQL database, it silently began as a new, empty node with an identity of its
 * own beside the restored node's key files.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startTestServer } from "../helpers/test-server.js";
import { startPostgres } from "../helpers/postgres-server.js";

const postgres = await startPostgres();
const dirs: string[] = [];
afterAll(async () => {
  await postgres?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory a node on SQLite ran in once: its public key file, vault.key and database. */
async function usedDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "kai-node-key-db-"));
  dirs.push(dataDir);
  await (await startTestServer({ keepDataDir: dataDir })).close();
  return dataDir;
}

/** How a start ended: its error, or "started" (the node closed again at once, so a failing test prints no server). */
async function startOutcome(options: Parameters<typeof startTestServer>[0]): Promise<unknown> {
  return startTestServer(options).then(
    async (node) => {
      await node.close();
      return "started";
    },
    (error: unknown) => error,
  );
}

const REFUSAL = /node-key\.pub\.pem is the public key of node [0-9a-f]{16}, but .*: this is not that node's database\. Start it with the database it was restored or copied into \(KAI_DATABASE_URL, or storage\.kind: postgres and storage\.postgres\.url in its config\); to start a new node here instead, move node-key\.pub\.pem away$/;

it("refuses to start on an empty SQLite database beside another node's public key file", async () => {
  const dataDir = await usedDataDir();
  for (const name of readdirSync(dataDir)) if (name.startsWith("kai.db")) rmSync(join(dataDir, name), { force: true });
  const outcome = await startOutcome({ keepDataDir: dataDir });
  expect(outcome).toMatchObject({ name: "ConfigError", message: expect.stringMatching(REFUSAL) });
  expect((outcome as Error).message).toContain("this node's database holds no node key");
});

it.skipIf(!postgres)("refuses to start a new node on an empty PostgreSQL database beside another node's public key file", async () => {
  const dataDir = await usedDataDir();
  const url = await postgres!.createDatabase("nodekey");
  const onPostgres = { keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: "node key database test passphrase" }, config: { storage: { kind: "postgres" as const, postgres: { url } } } };
  const outcome = await startOutcome(onPostgres);
  expect(outcome).toMatchObject({ name: "ConfigError", message: expect.stringMatching(REFUSAL) });
  expect((outcome as Error).message).toContain("the database holds no node");
  // The same database is a new node's to start on once the file is moved away: nothing was claimed by the refusal.
  rmSync(join(dataDir, "node-key.pub.pem"));
  expect(await startOutcome(onPostgres)).toBe("started");
});
