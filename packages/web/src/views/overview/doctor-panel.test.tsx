// The Overview's "Needs attention" panel against a real node (`GET /api/doctor`, kai doctor's checks): an admin sees
// what warns, with what to do, and how many checks pass; a failure (the vault locked) comes first after "Check again";
// a session without admin sees no panel.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.dispose();
});

const panel = async () => (await screen.findByRole("heading", { name: "Needs attention", level: 2 }, { timeout: 15_000 })).closest("section") as HTMLElement;

describe("the overview's Needs attention panel", () => {
  it("lists what warns with what to do, then a failure first once the vault is locked", async () => {
    const { unmount } = renderApp(server);
    const section = await panel();
    const list = await within(section).findByRole("list", { name: "Checks that need attention" }, { timeout: 10_000 });
    expect(list.textContent).toContain("backups: no scheduled backups (backup.schedule: off)");
    expect(list.textContent).toContain("→ kai vault rekey to a passphrase for production");
    expect(within(section).getByText(/other checks pass\. Checked on \S+ at/)).toBeTruthy();

    expect((await server.request("/api/vault/lock", { method: "POST" })).status).toBe(200);
    try {
      await userEvent.setup().click(within(section).getByRole("button", { name: "Check again" }));
      await waitFor(() => expect(within(list).getAllByRole("listitem")[0]!.textContent).toMatch(/^fail vault: locked/));
      expect(within(list).getAllByRole("listitem")[0]!.textContent).toContain("→ kai vault unlock");
    } finally {
      expect((await server.request("/api/vault/unlock", { method: "POST", json: {} })).status).toBe(200);
    }
    unmount();
  });

  it("is not shown to a session without admin", async () => {
    const viewer = await mintToken(server, ["services:read", "metrics:read"]);
    renderApp(server, { token: viewer });
    await screen.findByRole("heading", { name: "Services", level: 2 }, { timeout: 15_000 });
    expect(screen.queryByRole("heading", { name: "Needs attention" })).toBeNull();
  });
});
