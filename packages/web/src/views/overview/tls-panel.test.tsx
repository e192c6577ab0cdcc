// The Overview's TLS panel against a real node that presents a client certificate to its peers (federation.tls; the
// node itself serves plain HTTP here, so the page reaches it without a CA): the certificate's setting, subject,
// issuer and how long it has left, flagged as the shipped alerts flag it (under three days: critical), and a change to
// the files that did not load. (That a node without TLS files shows no panel: overview.test.tsx.) Certificates made by the openssl program, through the server tests' helper.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import { renderApp, startTestServer, type TestServer } from "../../test-support/app-harness";

interface TestCa {
  issue(name: string, subject: string, extensions: string): void;
}
const CERTIFICATES = new URL("../../../../server/test/helpers/test-certificates.ts", import.meta.url).pathname;
const certificates = async () => (await import(/* @vite-ignore */ CERTIFICATES)) as { HAS_OPENSSL: boolean; makeTestCa(dir: string): TestCa };

const dir = mkdtempSync(join(tmpdir(), "kai-web-tls-"));
let withTls: TestServer | undefined;
let hasOpenssl = false;
let helperCa: TestCa | undefined;

beforeAll(async () => {
  const helper = await certificates();
  hasOpenssl = helper.HAS_OPENSSL;
  if (!hasOpenssl) return;
  helperCa = helper.makeTestCa(dir);
  helperCa.issue("peer", "/CN=overview-peer", "extendedKeyUsage=clientAuth\n");
  withTls = await startTestServer({ config: { federation: { tls: { certFile: join(dir, "peer.pem"), keyFile: join(dir, "peer.key") } } } });
}, 60_000);
afterAll(async () => {
  await withTls?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("the overview's TLS panel", () => {
  it("shows the certificate the node presents and how long it has left", async (context) => {
    if (!hasOpenssl) context.skip();
    const { unmount } = renderApp(withTls!);
    const heading = await screen.findByRole("heading", { name: "TLS", level: 2 }, { timeout: 10_000 });
    const list = within(heading.closest("section")!).getByLabelText("TLS certificates");
    expect(within(list).getByText("federation.tls.certFile", { selector: "dt" })).toBeTruthy();
    const entry = within(list).getByText("federation.tls.certFile", { selector: "dt" }).nextElementSibling!.textContent ?? "";
    // The test CA issues for two days: under the critical threshold, so it reads in hours.
    expect(entry).toMatch(/^(47|48) hour\(s\) left CN=overview-peer · issued by CN=kai test CA · valid until /);
    expect(screen.queryByRole("alert")).toBeNull();

    // A renewal that does not load (a key that is not the certificate's): the node keeps the last good pair, and the
    // page says so once it reads the status again (a registry change makes it refetch at once).
    helperCa!.issue("other", "/CN=other", "extendedKeyUsage=clientAuth\n");
    copyFileSync(join(dir, "other.key"), join(dir, "peer.key"));
    for (let tries = 0; ; tries++) {
      const status = (await (await withTls!.request("/api/status")).json()) as { node: { tls?: { notReloaded: string[] } } };
      if (status.node.tls?.notReloaded.length) break;
      if (tries > 100) throw new Error("the node did not report the change that did not load");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const registered = await withTls!.request("/api/services/register", { method: "POST", json: { id: "tls-nudge", name: "Nudge", url: "http://127.0.0.1:9/" } });
    expect(registered.status).toBe(201);
    const alert = await screen.findByRole("alert", {}, { timeout: 10_000 });
    expect(alert.textContent).toMatch(/^The TLS files of federation\.tls changed but do not load: the node still uses the last good ones/);
    unmount();
  });
});
