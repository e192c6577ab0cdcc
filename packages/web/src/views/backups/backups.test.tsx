// The Backups view against a real node (in-process): a token holding only backup:admin (not admin) sees the page in
// the menu, the empty list and the restore command, and a too-short passphrase is refused in the form before any
// request; a token without backup:admin sees no menu entry, and the page's address says "not available". Taking and
// verifying backups (long requests, their results and errors) are covered end to end in the browser test
// (test/browser/backups.test.ts), against the built node as people use it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
});
afterAll(async () => {
  await server?.dispose();
});

describe("the Backups view", () => {
  it("shows the empty list and the restore command to a token with backup:admin only, and checks the passphrase first", async () => {
    const token = await mintToken(server, ["backup:admin"]);
    const { unmount } = renderApp(server, { path: "/", token });
    const nav = await screen.findByRole("navigation", { name: "Main" }, { timeout: 10_000 });
    await userEvent.click(within(nav).getByRole("link", { name: "Backups" }));
    await screen.findByRole("heading", { name: "Backups", level: 1 }, { timeout: 10_000 });
    await screen.findByText(/No backups yet/, undefined, { timeout: 10_000 });
    expect(screen.getByLabelText("Restore commands").textContent).toContain("kai backup restore kai-backup-….kaibak --data-dir");
    // A node restored into PostgreSQL is started with that database, or it opens an empty SQLite file and refuses.
    expect(screen.getByLabelText("Restore commands").textContent).toContain("KAI_DATABASE_URL='postgres://kai:…@db/kai' KAI_VAULT_PASSPHRASE='…' kai serve --data-dir");
    expect(screen.queryByRole("button", { name: /restore/i })).toBeNull();

    const form = screen.getByRole("form", { name: "Take a backup" });
    const field = within(form).getByLabelText("Backup passphrase");
    expect(field).toHaveProperty("type", "password");
    await userEvent.type(field, "short");
    await userEvent.click(within(form).getByRole("button", { name: "Take backup now" }));
    expect((await within(form).findByRole("alert")).textContent).toContain("8 to 1,024 characters");
    // Refused in the page: the node was never asked, so its directory is still empty.
    const listed = (await (await server.request("/api/backups", { token })).json()) as { backups: unknown[] };
    expect(listed.backups).toEqual([]);
    unmount();
  });

  it("is not in the menu of a session without backup:admin, and its address says not available", async () => {
    const token = await mintToken(server, ["services:read"]);
    const { unmount } = renderApp(server, { path: "/backups", token });
    await screen.findByRole("heading", { name: "Not available", level: 1 }, { timeout: 10_000 });
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).queryByRole("link", { name: "Backups" })).toBeNull();
    unmount();
  });
});
