/**
 * The PostgreSQL backend passes the same NodeStore conformance suite as SQLite and memory, each test on a fresh
 * database of one real PostgreSQL server that this file starts (test/helpers/postgres-server.ts). And its event rows
 * hold exactly the documents the other backends store (the batch statement derives most from the row's document).
 */
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { draft, registered } from "./__fixtures__/records.js";
import { runNodeStoreContract } from "./node-store-contract.js";

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  runNodeStoreContract("postgres", async () => {
    const url = await server.createDatabase("contract");
    const store = await openStore({ kind: "postgres", url, poolSize: 3 });
    return { store, cleanup: async () => undefined };
  });
}

describe.skipIf(!server)("the events' documents on PostgreSQL", () => {
  it("are each record's JSON with its revision last, byte for byte, whether derived from the row or sent", async () => {
    const url = await server!.createDatabase("event-docs");
    const store = await openStore({ kind: "postgres", url, poolSize: 3 });
    try {
      const plain = draft("doc-1", { name: "Sérvice ✓ 😀", description: 'quotes " and \\ backslash' });
      const first = await store.writeService(registered(plain));
      // One id written twice in one transaction: the first event's document is not the row's (sent), the second is (derived).
      const twice = await store.writeServices([registered(draft("doc-2", { name: "first" })), { event: "updated", record: draft("doc-2", { name: "second" }) }]);
      // A record that carries a revision of its own: spreading keeps it in its place, so the document is encoded in full.
      const own = { ...draft("doc-3"), revision: 99 } as unknown as ReturnType<typeof draft>;
      const third = await store.writeService(registered(own));
      const client = testClient({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ revision: string; doc: string }>("SELECT revision, doc FROM events ORDER BY revision");
        expect(rows.map((row) => row.doc)).toEqual([
          JSON.stringify({ ...plain, revision: first.revision }),
          JSON.stringify({ ...draft("doc-2", { name: "first" }), revision: twice[0]!.revision }),
          JSON.stringify({ ...draft("doc-2", { name: "second" }), revision: twice[1]!.revision }),
          JSON.stringify({ ...own, revision: third.revision }),
        ]);
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
    }
  });
});
