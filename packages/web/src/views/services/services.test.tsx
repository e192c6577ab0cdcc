// The Services page against a real node: the live table, filters and search, paging, register, edit,
// deregister, manifest import, and what a read-only session may press.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ServiceRecord } from "@kai/protocol";
import { mintToken, renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";
import { listPaging } from "./list/use-live-services";

// A real node on a busy machine: give answers and pushes time to arrive (this is patience, not a timing claim).
configure({ asyncUtilTimeout: 5000 });

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  const secret = await server.request("/api/vault/secrets/openai-key", { method: "PUT", json: { value: "sk-test-not-real" } });
  expect(secret.ok).toBe(true);
}, 90_000);
afterAll(async () => {
  await server.dispose();
});

async function register(body: Record<string, unknown>): Promise<ServiceRecord> {
  const response = await server.request("/api/services/register", {
    method: "POST",
    json: { type: "service", url: "http://127.0.0.1:9/", visibility: "public", ...body },
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as ServiceRecord;
}

async function record(id: string): Promise<{ status: number; body: ServiceRecord }> {
  const response = await server.request(`/api/services/${encodeURIComponent(id)}`);
  return { status: response.status, body: (await response.json()) as ServiceRecord };
}

/** The table, once the node's first page is in it. */
async function table() {
  const grid = await screen.findByRole("table", { name: "Services" }, { timeout: 10_000 });
  await waitFor(() => expect(screen.queryByText("Loading services…")).toBeNull(), { timeout: 10_000 });
  return grid;
}

/** Types by pasting (a long value typed key by key re-renders the whole form per key, which is slow in jsdom). */
async function fill(user: ReturnType<typeof userEvent.setup>, element: HTMLElement, text: string) {
  await user.click(element);
  await user.paste(text);
}

const live = () => screen.findByText("Live: changes appear as they happen", undefined, { timeout: 5000 });
const serviceLink = (grid: HTMLElement, name: string) => within(grid).queryByRole("link", { name });

describe("the services list", () => {
  it("shows a registration and a deregistration on the node without a reload", async () => {
    await register({ id: "live-existing", name: "Live existing", tags: ["live"] });
    renderApp(server, { path: "/services?tag=live" });
    const grid = await table();
    expect(serviceLink(grid, "Live existing")).not.toBeNull();
    await live();

    await register({ id: "live-new", name: "Live newcomer", tags: ["live"] });
    const row = (await within(grid).findByRole("link", { name: "Live newcomer" }, { timeout: 3000 })).closest('[role="row"]') as HTMLElement;
    expect(within(row).getByText("new")).toBeTruthy();

    // A change to a loaded row replaces it; one that leaves the filter removes it.
    await server.request("/api/services/live-existing", { method: "PATCH", json: { status: "maintenance" } });
    const existing = (await within(grid).findByRole("link", { name: "Live existing" })).closest('[role="row"]') as HTMLElement;
    await waitFor(() => expect(within(existing).getByText("maintenance")).toBeTruthy(), { timeout: 3000 });
    await server.request("/api/services/live-new", { method: "PATCH", json: { tags: ["elsewhere"] } });
    await waitFor(() => expect(serviceLink(grid, "Live newcomer")).toBeNull(), { timeout: 3000 });

    expect((await server.request("/api/services/live-existing", { method: "DELETE" })).status).toBe(204);
    await waitFor(() => expect(serviceLink(grid, "Live existing")).toBeNull(), { timeout: 3000 });
  });

  it("filters by type and status, and searches, through the node", async () => {
    await register({ id: "find-llama", name: "Find llama", type: "agent", tags: ["find"], capabilities: ["llm_chat"] });
    await register({ id: "find-mistral", name: "Find mistral", type: "tool", tags: ["find"], capabilities: ["embeddings"] });
    await register({ id: "find-resting", name: "Find resting", type: "tool", tags: ["find"], status: "maintenance" });
    renderApp(server, { path: "/services?tag=find" });
    const grid = await table();
    await waitFor(() => expect(within(grid).getAllByRole("link")).toHaveLength(3));
    const user = userEvent.setup();

    await user.selectOptions(screen.getByLabelText("Type"), "tool");
    await waitFor(() => expect(serviceLink(grid, "Find llama")).toBeNull());
    expect(serviceLink(grid, "Find mistral")).not.toBeNull();

    await user.selectOptions(screen.getByLabelText("Status"), "maintenance");
    await waitFor(() => expect(serviceLink(grid, "Find mistral")).toBeNull());
    expect(serviceLink(grid, "Find resting")).not.toBeNull();

    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    await user.type(screen.getByLabelText("Search"), "mistral{Enter}");
    await waitFor(() => expect(within(grid).getAllByRole("link").map((link) => link.textContent)).toEqual(["Find mistral"]));

    await user.clear(screen.getByLabelText("Search"));
    await user.type(screen.getByLabelText("Capability"), "llm_chat{Enter}");
    await waitFor(() => expect(serviceLink(grid, "Find llama")).not.toBeNull());
    expect(serviceLink(grid, "Find mistral")).toBeNull();

    // A value the protocol refuses is reported against its control and not sent.
    await user.clear(screen.getByLabelText("Capability"));
    await user.type(screen.getByLabelText("Capability"), "Not A Capability{Enter}");
    expect((await screen.findAllByRole("alert")).some((alert) => alert.textContent?.includes("lower-case"))).toBe(true);
  }, 90_000);

  it("sorts by a column on the node, across more services than one page, and says which way", async () => {
    // 105 services in pages of 100 (the table prefetches when fewer than 50 loaded rows are ahead, so a page must
    // be larger than that to stay one page). Both ends of the name order register last: a sort of only the loaded
    // page would start with "Sort 002" ascending and "Sort 101" descending.
    const label = (i: number) => `${i % 2 === 1 ? "Sort" : "sort"} ${String(i).padStart(3, "0")}`;
    const order = [...Array.from({ length: 101 }, (_, i) => i + 2), 0, 1, 103, 104];
    for (const i of order) await register({ id: `sort-${i}`, name: label(i), tags: ["sort"] });
    const byName = Array.from({ length: 105 }, (_, i) => label(i));
    const pageSize = listPaging.pageSize;
    listPaging.pageSize = 100;
    try {
      renderApp(server, { path: "/services?tag=sort" });
      const grid = await table();
      const names = () => within(grid).getAllByRole("link").map((link) => link.textContent);
      /** The rendered rows (the table is virtualised) are the first of `want`. */
      const showsStartOf = (want: string[]) => {
        const shown = names();
        expect(shown.length).toBeGreaterThan(5);
        expect(shown).toEqual(want.slice(0, shown.length));
      };
      await screen.findByText("100 services loaded; the node has more");
      const user = userEvent.setup();
      await user.click(within(grid).getByRole("button", { name: /^Service/ }));
      // Case-insensitive ("sort 000" before "Sort 001"), and the node's first of all 105, not of the 100 loaded.
      await waitFor(() => showsStartOf(byName));
      expect(within(grid).getByRole("columnheader", { name: /Service/ }).getAttribute("aria-sort")).toBe("ascending");
      expect(screen.getByText("100 services loaded; the node has more")).toBeTruthy();
      await user.click(within(grid).getByRole("button", { name: /^Service/ }));
      await waitFor(() => showsStartOf([...byName].reverse()));
      expect(within(grid).getByRole("columnheader", { name: /Service/ }).getAttribute("aria-sort")).toBe("descending");
      await user.click(screen.getByRole("button", { name: "Load more services" }));
      await screen.findByText("105 services");
      showsStartOf([...byName].reverse());
      // A registration while sorted shows at the top, marked new.
      await live();
      await register({ id: "sort-new", name: "Sort 050 again", tags: ["sort"] });
      await waitFor(() => expect(names()[0]).toBe("Sort 050 again"));
    } finally {
      listPaging.pageSize = pageSize;
    }
  }, 120_000);

  it("reads the node page by page, keeping only rows in sight in the document", async () => {
    for (let index = 0; index < 230; index++) await register({ id: `page-${String(index).padStart(3, "0")}`, name: `Paged ${index}`, tags: ["paged"] });
    renderApp(server, { path: "/services?tag=paged" });
    const grid = await table();
    await screen.findByText("200 services loaded; the node has more");
    // Virtualised: a few dozen rows at most are rendered, whatever is loaded.
    expect(within(grid).getAllByRole("row").length).toBeLessThan(60);
    await userEvent.setup().click(screen.getByRole("button", { name: "Load more services" }));
    await screen.findByText("230 services", undefined, { timeout: 5000 });
    expect(screen.queryByRole("button", { name: "Load more services" })).toBeNull();
    expect(grid.getAttribute("aria-rowcount")).toBe("231");
  }, 90_000);
});

describe("registering, editing and deregistering", () => {
  it("registers a service from the generated form, its credential chosen from the vault", async () => {
    renderApp(server, { path: "/services?tag=formed" });
    const grid = await table();
    await live();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Register service" }));
    const form = await screen.findByRole("form", { name: "Register a service" });

    // Nothing is sent while the schema refuses the values; the errors sit on their fields.
    await user.click(within(form).getByRole("button", { name: "Register" }));
    expect(within(form).getAllByRole("alert").length).toBeGreaterThan(0);
    expect(within(form).getByLabelText("Name").getAttribute("aria-invalid")).toBe("true");

    await fill(user, within(form).getByLabelText("ID"), "formed-one");
    await fill(user, within(form).getByLabelText("Name"), "Formed one");
    await fill(user, within(form).getByLabelText("URL"), "http://127.0.0.1:11434");
    await fill(user, within(form).getByLabelText("Capabilities"), "llm_chat, embeddings");
    await user.type(within(form).getByLabelText("Tags"), "formed");
    await user.selectOptions(within(form).getByLabelText("Authentication type"), "bearer_token");
    const credential = within(form).getByLabelText("Credential");
    await waitFor(() => expect(within(credential).getByRole("option", { name: "Vault secret: openai-key" })).toBeTruthy());
    await user.selectOptions(credential, "vault:openai-key");
    await user.type(within(form).getByLabelText("Interval (seconds)"), "60");
    await user.click(within(form).getByRole("button", { name: "Register" }));

    await screen.findByText("Registered formed-one.");
    await within(grid).findByRole("link", { name: "Formed one" }, { timeout: 3000 });
    const { body } = await record("formed-one");
    expect(body.auth).toEqual({ type: "bearer_token", credentialRef: "vault:openai-key" });
    expect(body.capabilities).toEqual(["llm_chat", "embeddings"]);
    expect(body.healthCheck?.interval).toBe(60);
    expect(body.healthCheck?.path).toBe("/");
  }, 90_000);

  it("edits only what changed, and removes an emptied field", async () => {
    await register({ id: "edit-me", name: "Edit me", tags: ["edited"], version: "1.0.0", description: "before" });
    renderApp(server, { path: "/services?tag=edited" });
    const grid = await table();
    await live();
    const user = userEvent.setup();
    await user.click(within(grid).getByRole("button", { name: "Edit edit-me" }));
    const form = await screen.findByRole("form", { name: "Edit edit-me" });
    expect((within(form).getByLabelText("Description") as HTMLInputElement).value).toBe("before");
    expect(within(form).queryByLabelText("ID")).toBeNull();

    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form).findByText("Nothing was changed.")).toBeTruthy();

    await user.clear(within(form).getByLabelText("Description"));
    await user.type(within(form).getByLabelText("Description"), "after");
    await user.clear(within(form).getByLabelText("Version"));
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    await screen.findByText("Saved edit-me.");
    const { body } = await record("edit-me");
    expect(body.description).toBe("after");
    expect(body.version).toBeUndefined();
    expect(body.name).toBe("Edit me");
  }, 90_000);

  it("reports a concurrent change instead of overwriting it", async () => {
    await register({ id: "edit-race", name: "Edit race", tags: ["race"] });
    renderApp(server, { path: "/services?edit=edit-race" });
    const form = await screen.findByRole("form", { name: "Edit edit-race" });
    await server.request("/api/services/edit-race", { method: "PATCH", json: { description: "someone else" } });
    const user = userEvent.setup();
    await user.type(within(form).getByLabelText("Description"), "mine");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    const alert = await within(form).findByText("The change was not saved");
    expect(alert.closest('[role="alert"]')?.textContent).toContain("conflict");
    expect((await record("edit-race")).body.description).toBe("someone else");
  });

  it("deregisters only after a confirmation", async () => {
    await register({ id: "leave-me", name: "Leave me", tags: ["leaving"] });
    renderApp(server, { path: "/services?tag=leaving" });
    const grid = await table();
    await live();
    const user = userEvent.setup();
    await user.click(within(grid).getByRole("button", { name: "Deregister leave-me" }));
    const dialog = await screen.findByRole("dialog", { name: "Deregister leave-me?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect((await record("leave-me")).status).toBe(200);

    await user.click(within(grid).getByRole("button", { name: "Deregister leave-me" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Deregister leave-me?" })).getByRole("button", { name: "Deregister" }));
    await screen.findByText("Deregistered leave-me.");
    await waitFor(() => expect(serviceLink(grid, "Leave me")).toBeNull(), { timeout: 3000 });
    expect((await record("leave-me")).status).toBe(404);
  });

  it("imports a YAML manifest after showing what it holds, and refuses a broken one whole", async () => {
    renderApp(server, { path: "/services?panel=import" });
    const panel = await screen.findByRole("region", { name: "Import a manifest" });
    const text = within(panel).getByLabelText("Manifest (YAML)");
    fireEvent.change(text, { target: { value: "services:\n  - id: imp-good\n    endpoint: http://127.0.0.1:9\n  - id: imp-bad\n    endpoint: not a url\n" } });
    const problems = await within(panel).findByRole("alert");
    // Named as the file spells it: the entry's `endpoint` (the registration calls it `url`).
    expect(problems.textContent).toContain("services.1.endpoint (imp-bad): Invalid URL");
    expect(within(panel).queryByRole("button", { name: /^Register/ })).toBeNull();

    fireEvent.change(text, {
      target: { value: "services:\n  - id: imp-one\n    name: Imported one\n    endpoint: http://127.0.0.1:9\n    capabilities: [chat]\n  - id: imp-two\n    endpoint: http://127.0.0.1:10\n    auth: { type: bearer_token, token_env: TWO_KEY }\n" },
    });
    const listed = await within(panel).findByRole("list", { name: "Services in the manifest" });
    expect(within(listed).getAllByRole("listitem")).toHaveLength(2);
    await userEvent.setup().click(within(panel).getByRole("button", { name: "Register 2 services" }));
    await within(panel).findByText("Imported 2 of 2.");
    const one = (await record("imp-one")).body;
    expect(one.capabilities).toEqual(["llm_chat"]);
    expect(one.metadata.appliedFrom).toBe("manifest.yaml");
    expect((await record("imp-two")).body.auth.credentialRef).toBe("env:TWO_KEY");
    expect((await record("imp-bad")).status).toBe(404);
  });

  it("offers a read-only session no way to change anything", async () => {
    await register({ id: "look-only", name: "Look only", tags: ["readonly"] });
    const token = await mintToken(server, ["services:read"]);
    renderApp(server, { token, path: "/services?tag=readonly" });
    const grid = await table();
    await within(grid).findByRole("link", { name: "Look only" });
    expect(screen.queryByRole("button", { name: "Register service" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Import manifest" })).toBeNull();
    expect(within(grid).queryByRole("button", { name: "Edit look-only" })).toBeNull();
  });
});
