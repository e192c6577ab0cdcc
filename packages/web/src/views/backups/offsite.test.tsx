// The Backups page of a node with offsite copies (backup.offsite: s3) on a real S3-compatible server (s3rver, through
// the server tests' helper): a backup taken says it was copied offsite and its row says "here and offsite". (A store
// that does not answer: offsite-failing.test.tsx, one node per file.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

interface S3Server {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}
const S3_HELPER = new URL("../../../../server/test/helpers/s3-server.ts", import.meta.url).pathname;
const startS3Server = async () => ((await import(/* @vite-ignore */ S3_HELPER)) as { startS3Server(): Promise<S3Server | null> }).startS3Server();

const PASSPHRASE = "web offsite passphrase";
let s3: S3Server | null = null;
let copying: TestServer | undefined;

beforeAll(async () => {
  s3 = await startS3Server();
  if (!s3) return;
  const s3Settings = { endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, prefix: "web/", forcePathStyle: true, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  copying = await startTestServer({ config: { rateLimit: { enabled: false }, backup: { passphrase: PASSPHRASE, kdfIterations: 10_000, offsite: { store: "s3", s3: s3Settings } } } });
}, 60_000);
afterAll(async () => {
  await copying?.dispose();
  await s3?.stop();
});

async function takeBackup(): Promise<HTMLElement> {
  await screen.findByRole("heading", { name: "Backups", level: 1 }, { timeout: 10_000 });
  const form = screen.getByRole("form", { name: "Take a backup" });
  await userEvent.click(within(form).getByRole("button", { name: "Take backup now" }));
  return screen.findByRole("group", { name: "The backup taken" }, { timeout: 20_000 });
}

describe("the Backups page with offsite copies", () => {
  it("says a backup taken was copied offsite, and lists it here and offsite", async (context) => {
    if (!s3) context.skip();
    const { unmount } = renderApp(copying!, { path: "/backups" });
    const taken = await takeBackup();
    expect(taken.textContent).toMatch(/copied offsite\./);
    // The test node's vault is on the key file (the development default): the one thing to heed is that the backup
    // opens only with that node's vault.key; no offsite failure.
    const alerts = within(taken).queryAllByRole("alert").map((alert) => alert.textContent ?? "");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain("vault.key");
    const table = await screen.findByRole("table", { name: "Backups" });
    await within(table).findByText("here and offsite", undefined, { timeout: 10_000 });
    // Taken on request, not by the schedule: backup.retain will not prune it.
    expect(within(table).getByText("by a request, from sqlite")).toBeTruthy();
    // The restore commands name the one that reads the offsite store, with this backup's id.
    const id = /kai-backup-\d{8}T\d{6}Z-[a-z0-9]{6}/.exec(taken.textContent ?? "")![0];
    expect(screen.getByLabelText("Restore commands").textContent).toContain(`kai backup restore ${id} --offsite --config kai.yaml --data-dir`);
    unmount();
  });
});
