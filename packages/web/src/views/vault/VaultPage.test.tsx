// The Vault page against a real node: storing and revealing secrets, lock and unlock with a real passphrase,
// rotation, what a limited or vault-less session sees, and the audit log with its chain verified.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

// The node does real work (PBKDF2 at 600,000 iterations on a rekey, several instances sharing two cores): wait for
// what a person would see for up to 10 s rather than Testing Library's default second. No assertion is about time.
configure({ asyncUtilTimeout: 10_000 });

let server: TestServer;
const PASSPHRASE = "correct horse battery staple";

beforeAll(async () => {
  // The fewest PBKDF2 iterations the node accepts: the passphrase is still real, the shared machine is spared.
  server = await startTestServer({ config: { vault: { pbkdf2Iterations: 10_000 } } });
  // Stored through the API (not the page) so that each test starts from known secrets.
  for (const [name, value] of [["openai/prod", "sk-openai-prod-value"], ["anthropic/prod", "sk-anthropic-value"]]) {
    const response = await server.request(`/api/vault/secrets/${name}`, { method: "PUT", json: { value, description: `${name} key` } });
    expect(response.status).toBe(200);
  }
});
afterAll(async () => {
  await server.dispose();
});

async function tokenWith(scopes: string[], secrets?: string[]): Promise<string> {
  const response = await server.request("/api/tokens", { method: "POST", json: { scopes, owner: "bob", ...(secrets ? { secrets } : {}) } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

const secretsTable = () => screen.findByRole("table", { name: "Secrets" });
const rowOf = (table: HTMLElement, name: string) => within(table).getByRole("row", { name: new RegExp(`^${name.replace("/", "\\/")}`) });

// Generous per test: real key derivation and several steps on a shared, busy machine.
describe("the vault page", { timeout: 60_000 }, () => {
  it("lists names and versions without values, and reveals a value only when asked", async () => {
    renderApp(server, { path: "/vault" });
    const user = userEvent.setup();
    const table = await secretsTable();
    expect(within(table).getByText("openai/prod")).toBeTruthy();
    expect(document.body.textContent).not.toContain("sk-openai-prod-value");

    await user.click(within(table).getByRole("button", { name: "Reveal openai/prod" }));
    expect((await screen.findByTestId("secret-value-openai/prod")).textContent).toBe("sk-openai-prod-value");
    expect(document.body.textContent).not.toContain("sk-anthropic-value");
    // The keyboard stays where the person is: on Hide, then back on Reveal.
    // Focus moves in an effect after the value is drawn: wait for it as a keyboard user would (CI once asserted between).
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("button", { name: "Hide openai/prod" })));

    await user.keyboard("{Enter}");
    expect(document.body.textContent).not.toContain("sk-openai-prod-value");
    await waitFor(() => expect(document.activeElement).toBe(within(table).getByRole("button", { name: "Reveal openai/prod" })));
  });

  it("stores a secret and a new version of it, validated before it is sent", async () => {
    renderApp(server, { path: "/vault" });
    const user = userEvent.setup();
    await secretsTable();
    await user.click(screen.getByRole("button", { name: "Store a secret" }));
    await user.type(screen.getByLabelText("Secret name"), "bad name!");
    await user.type(screen.getByLabelText("Value"), "v1-value");
    await user.click(screen.getByRole("button", { name: "Store secret" }));
    expect((await screen.findByText(/must be path segments/)).textContent).toBeTruthy();

    await user.clear(screen.getByLabelText("Secret name"));
    await user.type(screen.getByLabelText("Secret name"), "ollama/local");
    await user.click(screen.getByRole("button", { name: "Store secret" }));
    await screen.findByText("Stored ollama/local, version 1.");

    await user.click(screen.getByRole("button", { name: "New version of ollama/local" }));
    await user.type(screen.getByLabelText("Value"), "v2-value");
    await user.click(screen.getByRole("button", { name: "Save new version" }));
    await screen.findByText("Stored ollama/local, version 2.");
    const row = rowOf(await secretsTable(), "ollama/local");
    await waitFor(() => expect(within(row).getByText("2, 1")).toBeTruthy());

    await user.click(within(row).getByRole("button", { name: "Reveal ollama/local" }));
    expect((await screen.findByTestId("secret-value-ollama/local")).textContent).toBe("v2-value");
  });

  it("rotates the data key after asking", async () => {
    renderApp(server, { path: "/vault" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Rotate data key" }));
    const dialog = await screen.findByRole("dialog", { name: "Rotate the data key?" });
    await user.click(within(dialog).getByRole("button", { name: "Rotate" }));
    const done = await screen.findByText(/^Data key version 2:/);
    // Every kept version of every secret (and the node's own) is re-encrypted: more than the three names.
    expect(Number(/: (\d+) secrets? re-encrypted/.exec(done.textContent ?? "")?.[1])).toBeGreaterThanOrEqual(3);
    // Values read back the same under the new key.
    await user.click(within(await secretsTable()).getByRole("button", { name: "Reveal openai/prod" }));
    expect((await screen.findByTestId("secret-value-openai/prod")).textContent).toBe("sk-openai-prod-value");
  });

  it("moves to a passphrase, locks, refuses a wrong passphrase and unlocks with the right one", async () => {
    renderApp(server, { path: "/vault" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Set a passphrase" }));
    await user.type(screen.getByLabelText("New passphrase"), PASSPHRASE);
    await user.type(screen.getByLabelText("Repeat the new passphrase"), PASSPHRASE);
    await user.click(screen.getByRole("button", { name: "Save passphrase" }));
    await screen.findByText(/^passphrase \(/);

    await user.click(screen.getByRole("button", { name: "Lock vault" }));
    await waitFor(() => expect(screen.getByTestId("vault-state").textContent).toBe("locked"));
    // Names stay listed while locked; values cannot be revealed.
    const table = await secretsTable();
    expect((within(table).getByRole("button", { name: "Reveal openai/prod" }) as HTMLButtonElement).disabled).toBe(true);
    expect((await server.request("/api/vault/status").then((r) => r.json()) as { locked: boolean }).locked).toBe(true);

    await user.type(screen.getByLabelText("Passphrase"), "not the passphrase");
    await user.click(screen.getByRole("button", { name: "Unlock" }));
    expect((await screen.findByText("The vault is still locked")).closest("[role=alert]")?.textContent).toContain("invalid_passphrase");
    expect(screen.getByTestId("vault-state").textContent).toBe("locked");

    await user.clear(screen.getByLabelText("Passphrase"));
    await user.type(screen.getByLabelText("Passphrase"), PASSPHRASE);
    await user.click(screen.getByRole("button", { name: "Unlock" }));
    await waitFor(() => expect(screen.getByTestId("vault-state").textContent).toBe("unlocked"));
    await user.click(within(await secretsTable()).getByRole("button", { name: "Reveal anthropic/prod" }));
    expect((await screen.findByTestId("secret-value-anthropic/prod")).textContent).toBe("sk-anthropic-value");
  });

  it("shows a token limited to openai/* only those names, and none of the controls it may not use", async () => {
    const token = await tokenWith(["vault:read"], ["openai/*"]);
    renderApp(server, { path: "/vault", token });
    const user = userEvent.setup();
    const table = await secretsTable();
    expect(within(table).getByText("openai/prod")).toBeTruthy();
    expect(within(table).queryByText("anthropic/prod")).toBeNull();
    expect(screen.queryByRole("button", { name: "Store a secret" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Lock vault" })).toBeNull();
    expect(screen.queryByRole("table", { name: "Audit entries" })).toBeNull();
    await user.click(within(table).getByRole("button", { name: "Reveal openai/prod" }));
    expect((await screen.findByTestId("secret-value-openai/prod")).textContent).toBe("sk-openai-prod-value");
  });

  it("gives a session without vault scopes neither the page nor any name or value", async () => {
    const token = await mintToken(server, ["services:read", "gateway:invoke"]);
    renderApp(server, { path: "/vault", token });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-vault")).toBeNull();
    const text = document.body.textContent ?? "";
    for (const leak of ["openai/prod", "sk-openai-prod-value", "sk-anthropic-value"]) expect(text).not.toContain(leak);
    // And the node refuses the value itself, whatever a page shows.
    expect((await server.request("/api/vault/secrets/openai/prod", { token })).status).toBe(403);
  });

  it("shows the audit log newest first with its chain verified, and filters it by outcome", async () => {
    const limited = await tokenWith(["vault:read"], ["openai/*"]);
    expect((await server.request("/api/vault/secrets/anthropic/prod", { token: limited })).status).toBe(403);
    renderApp(server, { path: "/vault" });
    const user = userEvent.setup();
    const chain = await screen.findByTestId("audit-chain");
    await waitFor(() => expect(chain.textContent).toContain("chain verified"));
    const entries = await screen.findByRole("table", { name: "Audit entries" });
    const rows = within(entries).getAllByRole("row").slice(1);
    const seqs = rows.map((row) => Number(within(row).getAllByRole("cell")[0]!.textContent));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(entries.textContent).toContain("secret.get");
    // Names are HMACs in the log, never in clear.
    expect(entries.textContent).not.toContain("anthropic/prod");

    await user.selectOptions(screen.getByLabelText("Outcome"), "denied");
    await waitFor(() => {
      const filtered = within(screen.getByRole("table", { name: "Audit entries" })).getAllByRole("row").slice(1);
      expect(filtered.length).toBeGreaterThan(0);
      for (const row of filtered) expect(row.textContent).toContain("denied");
    });
  });

  it("says which roles may reveal, store and administer the vault", async () => {
    renderApp(server, { path: "/vault" });
    const roles = await screen.findByRole("table", { name: "Vault rights by role" });
    expect(within(roles).getByRole("row", { name: /^viewer/ }).textContent).toContain("nothing in the vault");
    expect(within(roles).getByRole("row", { name: /^developer/ }).textContent).toContain("list and reveal");
    expect(within(roles).getByRole("row", { name: /^developer/ }).textContent).not.toContain("store and delete");
    const tokens = await screen.findByRole("table", { name: "API tokens with vault access" });
    expect(tokens.textContent).toContain("openai/*");
  });
});
