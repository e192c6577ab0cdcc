// The Access view against a real node: an administrator manages users and roles; a person with a viewer role sees
// roles without buttons, no users, and mints and revokes their own token and sees their own sessions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createClient } from "@kai/sdk";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { auth: { signIn: { password: { memoryKiB: 1024, iterations: 1, parallelism: 1 } } }, rateLimit: { auth: { max: 10_000 }, global: { max: 100_000 } } } });
});
afterAll(async () => {
  await server.dispose();
});

/** The machine is shared and slow at times: wait for the node's answers longer than Testing Library's 1 s. */
const SLOW = { timeout: 10_000 };

/** The page is loaded lazily: its first visit in a test file waits for the module to be transformed. */
async function accessPage(): Promise<void> {
  await screen.findByRole("heading", { name: "Access", level: 1 }, { timeout: 15_000 });
}

async function userNamed(name: string): Promise<{ roles: string[]; state: string } | undefined> {
  const response = await server.request(`/api/users/${name}`);
  return response.status === 200 ? ((await response.json()) as { roles: string[]; state: string }) : undefined;
}

/** A person's session access token (as the tab would hold it in a cookie). */
async function sessionOf(username: string, password: string): Promise<string> {
  const client = createClient({ url: server.url });
  const session = await client.auth.login({ username, password });
  return session.accessToken ?? "";
}

describe("the Access view", () => {
  it("lets an administrator create a user, change their roles, disable and delete them", async () => {
    renderApp(server, { path: "/access" });
    await accessPage();
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Create a user" }, SLOW);
    await user.type(within(form).getByLabelText("New username"), "nina");
    await user.type(within(form).getByLabelText("Temporary password"), "short");
    await user.click(within(form).getByRole("button", { name: "Create user" }));
    expect((await within(form).findByRole("alert", undefined, SLOW)).textContent).toContain("12 characters");
    await user.clear(within(form).getByLabelText("Temporary password"));
    await user.type(within(form).getByLabelText("Temporary password"), "nina's temporary password");
    await user.click(within(form).getByRole("button", { name: "Create user" }));
    await screen.findByRole("cell", { name: /nina/ }, SLOW);
    expect(await userNamed("nina")).toMatchObject({ roles: ["viewer"], state: "active" });

    await user.click(screen.getByRole("button", { name: "Manage nina" }));
    const details = screen.getByRole("group", { name: "Details of nina" });
    await user.click(within(details).getByRole("checkbox", { name: "developer" }));
    await user.click(within(details).getByRole("button", { name: "Save roles" }));
    await screen.findByRole("cell", { name: "viewer, developer" }, SLOW);
    expect((await userNamed("nina"))?.roles).toEqual(["viewer", "developer"]);

    await waitFor(() => expect(within(details).getByRole("button", { name: "Disable user" }).hasAttribute("disabled")).toBe(false), SLOW);
    await user.click(within(details).getByRole("button", { name: "Disable user" }));
    await within(details).findByRole("button", { name: "Enable user" }, SLOW);
    expect((await userNamed("nina"))?.state).toBe("disabled");

    await user.click(within(screen.getByRole("group", { name: "Details of nina" })).getByRole("button", { name: "Delete user" }));
    const dialog = screen.getByRole("dialog", { name: "Delete nina?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete user" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Manage nina" })).toBeNull(), SLOW);
    expect(await userNamed("nina")).toBeUndefined();
  });

  it("lets an administrator create and delete a custom role", async () => {
    renderApp(server, { path: "/access/roles" });
    await accessPage();
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Create or replace a custom role" }, SLOW);
    await user.type(within(form).getByLabelText("Role name"), "auditor");
    await user.click(within(form).getByRole("checkbox", { name: "metrics:read" }));
    await user.click(within(form).getByRole("button", { name: "Save role" }));
    await user.click(await screen.findByRole("button", { name: "Delete role auditor" }, SLOW));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete role" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Delete role auditor" })).toBeNull(), SLOW);
    expect(screen.queryByRole("button", { name: "Delete role viewer" })).toBeNull();
  });

  it("shows a viewer roles without buttons and no users, and lets them mint, see and revoke their own token", async () => {
    const created = await server.request("/api/users", { method: "POST", json: { username: "vic", password: "vic's long password", roles: ["viewer"] } });
    expect(created.status).toBe(201);
    const token = await sessionOf("vic", "vic's long password");

    renderApp(server, { path: "/access/users", token });
    await accessPage();
    await screen.findByText("Your role does not include this part of Access.", undefined, SLOW);
    const sections = screen.getByRole("navigation", { name: "Access sections" });
    expect(within(sections).queryByRole("link", { name: "Users" })).toBeNull();
    const user = userEvent.setup();

    await user.click(within(sections).getByRole("link", { name: "Roles" }));
    await screen.findByRole("table", { name: "Roles" }, SLOW);
    expect(screen.queryByRole("form", { name: "Create or replace a custom role" })).toBeNull();

    await user.click(within(sections).getByRole("link", { name: "Tokens" }));
    const form = await screen.findByRole("form", { name: "Create a personal token" }, SLOW);
    // Only what the session holds is offered.
    expect(within(form).queryByRole("checkbox", { name: "admin" })).toBeNull();
    await user.click(within(form).getByRole("checkbox", { name: "services:read" }));
    await user.type(within(form).getByLabelText("Name"), "laptop script");
    await user.click(within(form).getByRole("button", { name: "Create token" }));
    const shown = (await screen.findByLabelText("New token", undefined, SLOW)) as HTMLInputElement;
    const minted = shown.value;
    expect((await fetch(`${server.url}/api/services`, { headers: { authorization: `Bearer ${minted}` } })).status).toBe(200);
    await user.click(screen.getByRole("button", { name: "Done" }));
    await user.click(await screen.findByRole("button", { name: "Revoke token laptop script" }, SLOW));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Revoke" }));
    await waitFor(async () => expect((await fetch(`${server.url}/api/services`, { headers: { authorization: `Bearer ${minted}` } })).status).toBe(401), SLOW);

    await user.click(within(sections).getByRole("link", { name: "Sessions" }));
    await screen.findByText("this session", undefined, SLOW);
  });
});
