// Signing in against a real node: a one-time password leads to choosing a new one; an enrolled authenticator app
// leads to the code step (a malformed code is told at once, a right one signs in, a recovery code works too); in
// the tab (cookie mode) the node's single sign-on providers are offered as links that come back to the page, and
// a refusal the node sent the browser back with is shown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Secret, TOTP } from "otpauth";
import { createClient } from "@kai/sdk";
import { App } from "../../app/App";
import { sameOriginConnection } from "../../api/connection";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    config: {
      auth: {
        signIn: { password: { memoryKiB: 1024, iterations: 1, parallelism: 1 } },
        // A provider the page lists; nothing here contacts its issuer.
        sso: { providers: [{ id: "corp", displayName: "Corp account", issuer: "http://127.0.0.1:9", clientId: "kai-web", clientSecret: { vault: "sso/corp" } }] },
      },
      rateLimit: { auth: { max: 10_000 }, global: { max: 100_000 } },
    },
  });
});
afterAll(async () => {
  await server.dispose();
});

async function createUser(body: Record<string, unknown>): Promise<void> {
  const response = await server.request("/api/users", { method: "POST", json: body });
  expect(response.status, await response.clone().text()).toBe(201);
}

async function typePassword(username: string, password: string) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText("Username"), username);
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  return user;
}

describe("the sign-in page", () => {
  it("asks for a new password after a one-time password, checks it, and signs in with it", async () => {
    await createUser({ username: "pat", password: "a temporary password", mustChangePassword: true, roles: ["viewer"] });
    renderApp(server, { token: null });
    const user = await typePassword("pat", "a temporary password");
    await screen.findByRole("heading", { name: "Choose a new password" });

    await user.type(screen.getByLabelText("New password"), "too short");
    await user.type(screen.getByLabelText("New password again"), "too short");
    await user.click(screen.getByRole("button", { name: "Set password and sign in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("12 characters");

    await user.clear(screen.getByLabelText("New password"));
    await user.clear(screen.getByLabelText("New password again"));
    await user.type(screen.getByLabelText("New password"), "pat's very own password");
    await user.type(screen.getByLabelText("New password again"), "pat's very own password");
    await user.click(screen.getByRole("button", { name: "Set password and sign in" }));
    await screen.findByRole("button", { name: "Sign out" });

    // The new password is the one that works from now on.
    const check = createClient({ url: server.url });
    await expect(check.auth.login({ username: "pat", password: "pat's very own password" })).resolves.toMatchObject({ user: { username: "pat" } });
  });

  it("asks for the authenticator code when the user has one, refuses a malformed one without sending it, and signs in", async () => {
    await createUser({ username: "tess", password: "tess's long password", roles: ["developer"] });
    const own = createClient({ url: server.url });
    await own.auth.login({ username: "tess", password: "tess's long password" });
    const enrolment = await own.mfa.totp.enrol();
    const secret = Secret.fromBase32(enrolment.secret);
    const { recoveryCodes } = await own.mfa.totp.confirm(TOTP.generate({ secret }));

    renderApp(server, { token: null });
    const user = await typePassword("tess", "tess's long password");
    await screen.findByRole("heading", { name: "Second factor for tess" });
    await user.type(screen.getByLabelText("Authenticator code"), "12");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect((await screen.findByRole("alert")).textContent).toContain("6 digits");

    // The confirming code's time step is spent; the next step's code is accepted.
    await user.clear(screen.getByLabelText("Authenticator code"));
    await user.type(screen.getByLabelText("Authenticator code"), TOTP.generate({ secret, timestamp: Date.now() + 30_000 }));
    await user.click(screen.getByRole("button", { name: "Verify" }));
    await screen.findByRole("button", { name: "Sign out" });
    expect(recoveryCodes?.length).toBeGreaterThan(0);
  });

  it("takes a recovery code instead of the authenticator code", async () => {
    await createUser({ username: "rory", password: "rory's long password", roles: ["viewer"] });
    const own = createClient({ url: server.url });
    await own.auth.login({ username: "rory", password: "rory's long password" });
    const enrolment = await own.mfa.totp.enrol();
    const { recoveryCodes = [] } = await own.mfa.totp.confirm(TOTP.generate({ secret: Secret.fromBase32(enrolment.secret) }));

    renderApp(server, { token: null });
    const user = await typePassword("rory", "rory's long password");
    await screen.findByRole("heading", { name: "Second factor for rory" });
    await user.click(screen.getByRole("radio", { name: "Use a recovery code" }));
    await user.type(screen.getByLabelText("Recovery code"), recoveryCodes[0] ?? "");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    await screen.findByRole("button", { name: "Sign out" });
  });

  it("offers the node's single sign-on providers in the tab, coming back to the page, and shows a refusal it came back with", async () => {
    window.history.replaceState(null, "", "/access?sso_error=sso_failed&sso_message=You%20cancelled%20at%20the%20provider.");
    render(<App connection={sameOriginConnection(server.url)} initialPath="/access" />);
    const link = await screen.findByRole("link", { name: "Sign in with Corp account" });
    expect(link.getAttribute("href")).toBe(`${server.url}/api/auth/sso/corp/start?return=%2Faccess`);
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toContain("You cancelled at the provider.");
    expect(alert.textContent).toContain("sso_failed");
    // Read once: the address no longer carries it (a reload does not show it again).
    await waitFor(() => expect(window.location.search).toBe(""));
    window.history.replaceState(null, "", "/");
  });
});
