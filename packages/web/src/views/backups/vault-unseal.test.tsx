// How a backup's vault opens (`vaultUnseal`), on the Backups page of a real node (in-process) whose vault is on its
// key file (the development default, as every test node's): a backup taken warns, in the CLI's words, that restoring
// it needs that node's vault.key; its row says the vault opens with the node's vault.key; and the restore commands
// put a copy of vault.key in place before the start instead of asking for a vault passphrase it never had; once
// verified, the verification says so too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  // Cheap key derivation: the test takes a real backup.
  server = await startTestServer({ config: { rateLimit: { enabled: false }, backup: { passphrase: "web vault-unseal passphrase", kdfIterations: 10_000 } } });
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

describe("a backup of a vault on its key file", () => {
  it("is said to need the node's vault.key: when taken, in its row, in the restore commands and once verified", async () => {
    const { unmount } = renderApp(server, { path: "/backups" });
    await screen.findByRole("heading", { name: "Backups", level: 1 }, { timeout: 10_000 });
    const form = screen.getByRole("form", { name: "Take a backup" });
    await userEvent.click(within(form).getByRole("button", { name: "Take backup now" }));
    const taken = await screen.findByRole("group", { name: "The backup taken" }, { timeout: 20_000 });

    const warning = within(taken).getByRole("alert");
    expect(warning.textContent).toMatch(/^Warning: this node's vault opens with its key file .*vault\.key, not a passphrase/);
    expect(warning.textContent).toContain("Keep a copy of vault.key with your backups");

    const table = await screen.findByRole("table", { name: "Backups" });
    const [row] = within(table).getAllByRole("row").slice(1);
    // Under the file name, a warning badge (its words, not only its colour).
    const badge = within(row!.querySelector("th")!).getByText("the node's vault.key (not in the backup)");
    expect(badge.parentElement!.textContent).toBe("Vault opens with the node's vault.key (not in the backup)");
    expect(badge.className).toContain("bg-amber-100");

    const commands = screen.getByLabelText("Restore commands").textContent ?? "";
    expect(commands).toContain("install -m 0600 /path/to/the-old-node/vault.key /var/lib/kai-restored/vault.key");
    // No vault passphrase to give: the restored vault has none.
    expect(commands).not.toContain("KAI_VAULT_PASSPHRASE");

    // Verified, it restores: the data; its vault still needs the key file, which the verification cannot prove kept.
    const id = /kai-backup-\d{8}T\d{6}Z-[a-z0-9]{6}/.exec(taken.textContent ?? "")![0];
    await userEvent.click(within(table).getByRole("button", { name: `Verify ${id}` }));
    const verify = screen.getByRole("form", { name: `Verify ${id}` });
    await userEvent.click(within(verify).getByRole("button", { name: "Verify" }));
    await screen.findByText("Verified: the backup restores.", undefined, { timeout: 30_000 });
    expect(screen.getByRole("note").textContent).toContain("a restore of it needs a copy of that file, or the vault stays locked");
    unmount();
  });
});
