// The Settings view against a real node: a person's theme choice applies and is saved to their preferences, their
// profile saves, they turn on an authenticator app (and get recovery codes once); an administrator reads the node's
// configuration with the database password redacted; a person without the admin scope does not see it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Secret, TOTP } from "otpauth";
import { createClient } from "@kai/sdk";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

const DB_PASSWORD = "db-secret-for-the-settings-test";
const SLOW = { timeout: 10_000 };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      auth: { signIn: { password: { memoryKiB: 1024, iterations: 1, parallelism: 1 } } },
      rateLimit: { auth: { max: 10_000 }, global: { max: 100_000 } },
      storage: { postgres: { url: `postgres://kai:${DB_PASSWORD}@db.internal:5432/kai` } },
    },
  });
  const created = await server.request("/api/users", { method: "POST", json: { username: "sam", password: "sam's long password", roles: ["developer"] } });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await server.dispose();
});

async function samSession(): Promise<string> {
  const session = await createClient({ url: server.url }).auth.login({ username: "sam", password: "sam's long password" });
  return session.accessToken ?? "";
}

async function settingsPage(): Promise<void> {
  await screen.findByRole("heading", { name: "Settings", level: 1 }, { timeout: 15_000 });
}

async function samPreferences(): Promise<Record<string, unknown>> {
  const body = (await (await server.request("/api/users/sam")).json()) as { preferences: Record<string, unknown>; displayName: string | null };
  return { ...body.preferences, displayName: body.displayName };
}

describe("the Settings view", () => {
  it("applies a theme at once and saves it, with the profile, to the person's preferences", async () => {
    renderApp(server, { path: "/settings", token: await samSession() });
    await settingsPage();
    const user = userEvent.setup();
    await user.click(within(screen.getByRole("group", { name: "Theme" })).getByRole("radio", { name: "Dark" }));
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    await screen.findByText("Saved to your preferences.", undefined, SLOW);
    expect(await samPreferences()).toMatchObject({ theme: "dark" });

    const form = await screen.findByRole("form", { name: "Profile and preferences" }, SLOW);
    await user.type(within(form).getByLabelText("Display name"), "Sam Rivers");
    await user.type(within(form).getByLabelText("Time zone"), "Europe/Zurich");
    await user.click(within(form).getByRole("button", { name: "Save profile" }));
    await within(form).findByText("Saved.", undefined, SLOW);
    expect(await samPreferences()).toMatchObject({ theme: "dark", timezone: "Europe/Zurich", displayName: "Sam Rivers" });
    await user.click(within(screen.getByRole("group", { name: "Theme" })).getByRole("radio", { name: "Light" }));
    expect(document.documentElement.classList.contains("dark")).toBe(false);
  });

  it("turns on an authenticator app with its first code and shows the recovery codes once", async () => {
    renderApp(server, { path: "/settings", token: await samSession() });
    await settingsPage();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Set up an authenticator app" }, SLOW));
    const form = await screen.findByRole("form", { name: "Confirm the authenticator app" }, SLOW);
    expect(within(form).getByRole("img", { name: "QR code to scan with the authenticator app" }).getAttribute("src")).toMatch(/^data:image\//);
    const secret = within(form).getByText((_text, element) => element?.tagName === "CODE").textContent ?? "";
    await user.type(within(form).getByLabelText("First code from the app"), TOTP.generate({ secret: Secret.fromBase32(secret) }));
    await user.click(within(form).getByRole("button", { name: "Turn on" }));
    const codes = await screen.findByRole("list", { name: "Recovery codes" }, SLOW);
    expect(within(codes).getAllByRole("listitem").length).toBe(10);
    await screen.findByText("authenticator app on", undefined, SLOW);
    // The password alone no longer signs sam in.
    await expect(createClient({ url: server.url }).auth.login({ username: "sam", password: "sam's long password" })).rejects.toMatchObject({ code: "mfa_required" });
  });

  it("shows an administrator the effective configuration with the database password redacted", async () => {
    renderApp(server, { path: "/settings" });
    await settingsPage();
    const yaml = await screen.findByLabelText("Configuration as YAML", undefined, SLOW);
    expect(yaml.textContent).toContain("db.internal");
    expect(yaml.textContent).not.toContain(DB_PASSWORD);
    expect(screen.getByText("storage.postgres.url")).toBeTruthy();
    // An API token has no profile to show.
    expect(screen.queryByRole("form", { name: "Profile and preferences" })).toBeNull();
  });

  it("does not show the configuration to a person without the admin scope", async () => {
    const created = await server.request("/api/users", { method: "POST", json: { username: "val", password: "val's long password", roles: ["viewer"] } });
    expect(created.status).toBe(201);
    const session = await createClient({ url: server.url }).auth.login({ username: "val", password: "val's long password" });
    renderApp(server, { path: "/settings", token: session.accessToken ?? "" });
    await settingsPage();
    await screen.findByRole("form", { name: "Profile and preferences" }, SLOW);
    await waitFor(() => expect(screen.queryByText("Effective configuration")).toBeNull());
  });
});
