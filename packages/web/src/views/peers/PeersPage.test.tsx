// The Peers page against two real nodes: this one (the app's) and a peer it federates with. Adding (with the DID
// checked), the imported records by origin, withdrawing trust, removing, who may see the page, and the peer heard on
// the LAN by mDNS added with one click (the peer announces on every interface; this node only listens, and says so).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

// Federation is asynchronous (pulls every 200 ms here) and the machine is shared: wait up to 15 s for what a person
// would see. No assertion is about time.
configure({ asyncUtilTimeout: 15_000 });

/** The federation tests' quick settings (packages/server/test/federation/support.ts). */
const FAST_FEDERATION = { pullIntervalMs: 200, refreshIntervalMs: 5_000, recordTtlSeconds: 3600, sweepIntervalMs: 100 };

let node: TestServer;
let peer: TestServer;
let peerDid: string;

beforeAll(async () => {
  [node, peer] = await Promise.all([
    startTestServer({ config: { federation: { ...FAST_FEDERATION, mdns: { enabled: true, advertise: false } } } }),
    startTestServer({ config: { federation: { ...FAST_FEDERATION, mdns: { enabled: true } } }, host: "0.0.0.0" }),
  ]);
  const registered = await peer.request("/api/services/register", {
    method: "POST",
    json: { id: "peer-chat", name: "Peer chat model", type: "service", provider: "openai", capabilities: ["llm_chat"], tags: ["test"], url: "http://127.0.0.1:9/", visibility: "public" },
  });
  expect(registered.status).toBe(201);
  peerDid = ((await (await fetch(`${peer.url}/.well-known/klp.json`)).json()) as { did: string }).did;
});
afterAll(async () => {
  await Promise.all([node?.dispose(), peer?.dispose()]);
});

const peersTable = () => screen.findByRole("table", { name: "Peers" });
const peerRow = async (name: string) => within(await peersTable()).getByRole("row", { name: new RegExp(`^${name}`) });

describe("the peers page", { timeout: 60_000 }, () => {
  it("adds a peer after checking its DID, and shows what is imported from it", async () => {
    renderApp(node, { path: "/peers" });
    const user = userEvent.setup();
    await screen.findByText(/No peers yet/);

    await user.click(screen.getByRole("button", { name: "Add peer" }));
    const form = screen.getByRole("form", { name: "Add a peer" });
    await user.type(within(form).getByLabelText("Peer URL"), "not a url");
    await user.click(within(form).getByRole("button", { name: "Add peer" }));
    expect((await within(form).findByText(/enter the peer's http\(s\) address/)).textContent).toBeTruthy();

    // A DID that is not the peer's: the node refuses to pin it.
    await user.clear(within(form).getByLabelText("Peer URL"));
    await user.type(within(form).getByLabelText("Peer URL"), peer.url);
    await user.type(within(form).getByLabelText("Expected DID"), await ownDid(node));
    await user.click(within(form).getByRole("button", { name: "Add peer" }));
    expect((await within(form).findByRole("alert")).textContent).toContain("peer_identity_mismatch");

    await user.clear(within(form).getByLabelText("Expected DID"));
    await user.type(within(form).getByLabelText("Expected DID"), peerDid);
    await user.type(within(form).getByLabelText("Name"), "Node B");
    await user.click(within(form).getByRole("button", { name: "Add peer" }));
    expect((await within(form).findByRole("status")).textContent).toContain(peerDid);

    const row = await peerRow("Node B");
    expect(row.textContent).toContain(peerDid);
    expect(row.textContent).toContain("trusted");
    await waitFor(async () => expect(within(await peerRow("Node B")).getAllByRole("cell")[5]!.textContent).toBe("1"));
    expect(screen.getByTestId(`peer-lag-${peerDid}`).textContent).toBe("caught up");

    await user.click(within(await peerRow("Node B")).getByRole("button", { name: "Records from Node B" }));
    const records = await screen.findByRole("table", { name: "Records imported from Node B" });
    expect(within(records).getByRole("link", { name: "Peer chat model" })).toBeTruthy();
  });

  it("withdraws trust (dropping what was imported) and gives it back", async () => {
    renderApp(node, { path: "/peers" });
    const user = userEvent.setup();
    await user.click(within(await peerRow("Node B")).getByRole("button", { name: "Withdraw trust from Node B" }));
    await waitFor(async () => {
      const row = await peerRow("Node B");
      expect(row.textContent).toContain("not trusted");
      expect(within(row).getAllByRole("cell")[5]!.textContent).toBe("0");
    });
    expect((await node.request("/api/services?location=remote").then((r) => r.json()) as { services: unknown[] }).services).toHaveLength(0);

    await user.click(within(await peerRow("Node B")).getByRole("button", { name: "Trust Node B" }));
    await waitFor(async () => expect(within(await peerRow("Node B")).getAllByRole("cell")[5]!.textContent).toBe("1"));
  });

  it("shows the page only to sessions that manage federation, and the records only with services:read", async () => {
    const federationOnly = await mintToken(node, ["federation:admin"]);
    const view = renderApp(node, { path: "/peers", token: federationOnly });
    await peerRow("Node B");
    expect(screen.queryByRole("button", { name: "Records from Node B" })).toBeNull();
    view.unmount();

    const viewer = await mintToken(node, ["services:read"]);
    renderApp(node, { path: "/peers", token: viewer });
    await screen.findByRole("heading", { name: "Not available" });
    expect(document.body.textContent).not.toContain(peerDid);
  });

  it("removes a peer after asking, with its imported records", async () => {
    renderApp(node, { path: "/peers" });
    const user = userEvent.setup();
    await user.click(within(await peerRow("Node B")).getByRole("button", { name: "Remove Node B" }));
    const dialog = await screen.findByRole("dialog", { name: "Remove Node B?" });
    await user.click(within(dialog).getByRole("button", { name: "Remove peer" }));
    await screen.findByText(/No peers yet/);
    expect((await node.request("/api/services?location=remote").then((r) => r.json()) as { services: unknown[] }).services).toHaveLength(0);
  });

  it("lists the peer heard on this network and adds it with one click, its announced DID pinned", async () => {
    renderApp(node, { path: "/peers" });
    const user = userEvent.setup();
    const heard = await screen.findByRole("table", { name: "Nodes on this network" });
    // This node listens without announcing itself (advertise: false), which the list alone does not tell.
    expect(screen.getByText(/^This node is not announced on the LAN, so other nodes do not hear it/)).toBeTruthy();
    const row = await within(heard).findByRole("row", { name: new RegExp(peerDid.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) });
    await user.click(within(row).getByRole("button", { name: /^Add .+ as a peer$/ }));
    await within(await peersTable()).findByText(peerDid);
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Nodes on this network" })).getByText("already a peer")).toBeTruthy());
  });
});

async function ownDid(server: TestServer): Promise<string> {
  return ((await (await fetch(`${server.url}/.well-known/klp.json`)).json()) as { did: string }).did;
}
