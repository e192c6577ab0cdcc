// The Backups page of a node whose offsite store (backup.offsite: s3) does not answer: the backup taken says its
// offsite copy failed (it is kept in the backup directory, "here only"), and the listing says the store could not be
// listed. The endpoint is a loopback port nothing listens on, so no S3 server is needed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

const PASSPHRASE = "web offsite passphrase";
let failing: TestServer;

beforeAll(async () => {
  const s3 = { endpoint: "http://127.0.0.1:9", bucket: "kai-offsite", forcePathStyle: true, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  failing = await startTestServer({ config: { rateLimit: { enabled: false }, backup: { passphrase: PASSPHRASE, kdfIterations: 10_000, offsite: { store: "s3", s3 } } } });
}, 60_000);
afterAll(async () => {
  await failing?.dispose();
});

describe("the Backups page when the offsite store does not answer", () => {
  it("says the offsite copy failed and the offsite store could not be listed", async () => {
    const { unmount } = renderApp(failing, { path: "/backups" });
    await screen.findByRole("heading", { name: "Backups", level: 1 }, { timeout: 10_000 });
    const form = screen.getByRole("form", { name: "Take a backup" });
    await userEvent.click(within(form).getByRole("button", { name: "Take backup now" }));
    const taken = await screen.findByRole("group", { name: "The backup taken" }, { timeout: 20_000 });
    const alerts = within(taken).getAllByRole("alert").map((alert) => alert.textContent);
    expect(alerts).toContainEqual(expect.stringMatching(/^Its offsite copy failed, so it is kept in the node's backup directory only: the offsite backup store/));
    const table = await screen.findByRole("table", { name: "Backups" });
    await within(table).findByText("here only", undefined, { timeout: 10_000 });
    const notices = await screen.findAllByRole("alert");
    expect(notices.some((notice) => /^The offsite store could not be listed/.test(notice.textContent ?? ""))).toBe(true);
    unmount();
  });
});
