// The agents this node runs itself, in the agent center, against a real node whose config runs one: a small real
// process (node, waiting), not started with the node (`autostart: false`). Its row says it is stopped; Start runs
// it (the row says running, with its pid), Stop ends it; a session that may not see it has no such table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

configure({ asyncUtilTimeout: 15_000 });

const ID = "kExecutor:idle";
let node: TestServer;

beforeAll(async () => {
  node = await startTestServer({
    config: {
      rateLimit: { enabled: false },
      agents: { run: [{ id: ID, command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], autostart: false, stopGraceMs: 5000 }] },
    },
  });
});
afterAll(async () => node?.dispose());

describe("agents the node runs", () => {
  it("shows a stopped run-agent, starts it and stops it", async () => {
    const user = userEvent.setup();
    renderApp(node, { path: "/agents" });
    const table = await screen.findByRole("table", { name: "Agents this node runs" });
    const row = within(table).getByRole("row", { name: new RegExp(ID) });
    expect(within(row).getByText("stopped")).toBeTruthy();
    expect(within(row).getByText("never ran")).toBeTruthy();

    await user.click(within(row).getByRole("button", { name: `Start ${ID}` }));
    await waitFor(() => expect(within(row).getByText("running")).toBeTruthy());
    expect(within(row).getByText(/^pid \d+$/)).toBeTruthy();

    await user.click(within(row).getByRole("button", { name: `Stop ${ID}` }));
    await waitFor(() => expect(within(row).getByText("stopped")).toBeTruthy());
    expect(within(row).getByRole("button", { name: `Start ${ID}` })).toBeTruthy();
    const state = (await (await node.request(`/api/agents/${ID}/run`)).json()) as { state: string; pid: number | null };
    expect(state).toMatchObject({ state: "stopped", pid: null });
  });

  it("has no run-agent table for a session that may not see any", async () => {
    const viewer = await mintToken(node, ["agents:read"], "bob");
    renderApp(node, { path: "/agents", token: viewer });
    await screen.findByRole("heading", { level: 2, name: "Agents" });
    await screen.findByText(/No agents yet/);
    expect(screen.queryByRole("table", { name: "Agents this node runs" })).toBeNull();
  });
});
