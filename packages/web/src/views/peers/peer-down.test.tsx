// The Peers page while a peer is down: its link says disconnected, and its sync position is said as of the last
// contact ("caught up at last contact"), not as a present fact, since the peer may have changed since.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, within } from "@testing-library/react";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

// Federation is asynchronous and the machine shared: wait up to 20 s for what a person would see.
configure({ asyncUtilTimeout: 20_000 });

/** The federation tests' quick settings (packages/server/test/federation/support.ts). */
const FAST_FEDERATION = { pullIntervalMs: 200, refreshIntervalMs: 5_000, recordTtlSeconds: 3600, sweepIntervalMs: 100 };

let node: TestServer;
let peer: TestServer | undefined;

beforeAll(async () => {
  [node, peer] = await Promise.all([startTestServer({ config: { federation: FAST_FEDERATION } }), startTestServer({ config: { federation: FAST_FEDERATION } })]);
  const added = await node.request("/api/peers", { method: "POST", json: { url: peer.url, trusted: true } });
  expect(added.status).toBeLessThan(300);
});
afterAll(async () => {
  await Promise.all([node?.dispose(), peer?.dispose()]);
});

describe("a peer that went down", { timeout: 60_000 }, () => {
  it("is disconnected, its sync position said as of the last contact", async () => {
    const { unmount } = renderApp(node, { path: "/peers" });
    const table = await screen.findByRole("table", { name: "Peers" });
    await within(table).findByText("connected");
    expect(within(table).getByText("caught up")).toBeTruthy();
    await peer!.dispose();
    peer = undefined;
    await within(table).findByText("disconnected");
    expect(within(table).getByText("caught up at last contact")).toBeTruthy();
    unmount();
  });
});
