// The Peers page of a node without LAN discovery (federation.mdns off, the default, on the default loopback address):
// it says how to turn discovery on, and that turning it on announces this node only from an address the others can
// reach, since a node on 127.0.0.1 listens without being heard (as `kai peer discover` says).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen } from "@testing-library/react";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let node: TestServer;
beforeAll(async () => {
  node = await startTestServer();
});
afterAll(async () => {
  await node?.dispose();
});

describe("the Peers page with LAN discovery off", () => {
  it("says how to turn it on, and that a loopback address is never announced", async () => {
    const { unmount } = renderApp(node, { path: "/peers" });
    const off = await screen.findByText(/^LAN discovery is off\./, undefined, { timeout: 10_000 });
    expect(off.textContent).toContain("Set federation.mdns.enabled: true to list the other nodes on this network");
    expect(off.textContent).toContain("announced to them only when it listens on an address they can reach (server.host, not a loopback address)");
    unmount();
  });
});
