/**
 * What the bulk registration and bulk deregistration tests share: the two storage backends they run on (SQLite, and a
 * real PostgreSQL when the test setup could start one), a node with two owners' tokens, a POST that answers status and body, and a change-stream
 * subscriber that collects what the registry published, in order.
 */
import { expect } from "vitest";
import WebSocket from "ws";
import type { ServerStreamMessage } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import type { PostgresServer } from "../../helpers/postgres-server.js";

export interface BulkAnswer {
  status: number;
  body: { results?: Array<{ id: string; action: string }>; revision?: number; error?: { code: string; message: string; details?: Array<{ path: string }> } };
}

export interface Backend {
  name: string;
  start: () => Promise<TestServer>;
}

/** SQLite always; PostgreSQL in its own database `database` when `pg` started. */
export function bulkBackends(pg: PostgresServer | null, database: string, vaultPassphrase: string): Backend[] {
  const backends: Backend[] = [{ name: "SQLite", start: () => startTestServer({ config: { rateLimit: { enabled: false } } }) }];
  if (pg) {
    backends.push({
      name: "PostgreSQL",
      start: async () =>
        startTestServer({
          env: { KAI_VAULT_PASSPHRASE: vaultPassphrase },
          config: { rateLimit: { enabled: false }, storage: { kind: "postgres", postgres: { url: await pg.createDatabase(database) } } },
        }),
    });
  }
  return backends;
}

/** A node from `start` with a `services:read`/`services:write` token for each of two owners, alice and bob. */
export async function startWithTwoOwners(start: () => Promise<TestServer>): Promise<{ server: TestServer; alice: string; bob: string }> {
  const server = await start();
  const scopes = ["services:read", "services:write"];
  return { server, alice: await mintToken(server, scopes, "alice"), bob: await mintToken(server, scopes, "bob") };
}

export async function post(server: TestServer, path: string, json: unknown, token: string): Promise<BulkAnswer> {
  const response = await server.request(path, { method: "POST", json, token });
  return { status: response.status, body: (await response.json()) as BulkAnswer["body"] };
}

/** A change-stream subscription of `token` to the records tagged `tag`, open and past its snapshot. */
export async function subscribeToTag(server: TestServer, token: string, tag: string): Promise<{ messages: ServerStreamMessage[]; socket: WebSocket }> {
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws/registry", { headers: { authorization: `Bearer ${token}` } });
  const messages: ServerStreamMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as ServerStreamMessage));
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  socket.send(JSON.stringify({ type: "subscribe", filter: { tag: [tag] } }));
  await eventually(async () => messages.some((message) => message.type === "snapshot"));
  return { messages, socket };
}

/** The events among `messages`, as [event, service id, revision]. */
export function eventsOf(messages: readonly ServerStreamMessage[]): Array<readonly [string, string, number]> {
  return messages.flatMap((message) => (message.type === "event" ? [[message.event, message.serviceId, message.revision] as const] : []));
}

/**
 * Waits for the `expected` events ([event, service id], in this order) and checks they were published one revision
 * after another, the last being the revision the bulk answer names.
 */
export async function expectPublishedInOrder(messages: readonly ServerStreamMessage[], expected: Array<[string, string]>, answerRevision: number | undefined): Promise<void> {
  await eventually(async () => messages.filter((message) => message.type === "event").length >= expected.length);
  const events = eventsOf(messages);
  expect(events.map(([event, id]) => [event, id])).toEqual(expected);
  const revisions = events.map(([, , at]) => at);
  expect(revisions).toEqual(revisions.map((_, index) => revisions[0]! + index));
  expect(answerRevision).toBe(revisions.at(-1));
}
