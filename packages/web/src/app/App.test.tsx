// The shell against a real node: who may see which view, signing in and out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mintToken, renderApp, startTestServer, type TestServer } from "../test-support/app-harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.dispose();
});

describe("the app shell", () => {
  it("shows an admin every view in the navigation", async () => {
    renderApp(server);
    await screen.findByRole("navigation", { name: "Main" });
    for (const id of ["overview", "services", "playground", "vault", "peers", "access", "console", "settings"]) {
      expect(screen.getByTestId(`nav-${id}`)).toBeTruthy();
    }
  });

  it("hides the vault from a session that may not read it, and refuses its address", async () => {
    const token = await mintToken(server, ["services:read"]);
    renderApp(server, { token, path: "/vault" });
    await screen.findByRole("heading", { name: "Not available" });
    expect(screen.queryByTestId("nav-vault")).toBeNull();
    expect(screen.getByTestId("nav-services")).toBeTruthy();
  });

  it("asks for a sign-in when nobody is signed in, and refuses a wrong password with the server's code", async () => {
    renderApp(server, { token: null });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "not-the-password-at-all");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("invalid_credentials");
  });

  it("signs out back to the sign-in page", async () => {
    renderApp(server);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(screen.getByRole("heading", { name: "Sign in to kAI" })).toBeTruthy());
  });
});
