// The Overview's "Needs attention" panel on a node of two instances (a real PostgreSQL): every instance's checks that
// need attention, each naming its instance (b's first-admin password file is b's alone), the instances checked named
// below, and a note naming a live instance that did not answer. One cluster per file: starting one is slow.
import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderApp, startTestCluster, type TestCluster, type TestServer } from "../../test-support/app-harness";

let cluster: TestCluster | null = null;
beforeAll(async () => {
  cluster = await startTestCluster("doctorpanel");
}, 60_000);
afterAll(async () => {
  await cluster?.dispose();
});

describe("the Needs attention panel on a node of several instances", () => {
  it("lists every instance's findings under its name, and names an instance that did not answer", async (context) => {
    // Without PostgreSQL here (and not under CI, where it fails instead): the server tests' helper said what is missing.
    if (!cluster) return context.skip();
    const [a, b] = cluster.servers as [TestServer, TestServer];
    rmSync(join(a.dataDir, "first-admin.password"), { force: true });
    writeFileSync(join(b.dataDir, "first-admin.password"), "not a real password\n");
    renderApp(a);
    const section = (await screen.findByRole("heading", { name: "Needs attention", level: 2 }, { timeout: 15_000 })).closest("section") as HTMLElement;
    const list = await within(section).findByRole("list", { name: "Checks that need attention" }, { timeout: 10_000 });
    const items = () => within(list).getAllByRole("listitem").map((item) => item.textContent ?? "");
    await waitFor(() => expect(items().some((text) => /^warn b · sign-in: .*first admin/.test(text))).toBe(true));
    expect(items().some((text) => /^warn a · sign-in: .*first admin/.test(text))).toBe(false);
    // Both instances' findings: the backup schedule is off on each.
    expect(items().filter((text) => /· backups: no scheduled backups/.test(text)).map((text) => text.split(" · ")[0])).toEqual(["warn a", "warn b"]);
    expect(within(section).getByText(/Checked on a, b at/)).toBeTruthy();

    const removeSilent = await cluster.addSilentMember("silent");
    try {
      await userEvent.setup().click(within(section).getByRole("button", { name: "Check again" }));
      const note = await within(section).findByRole("note", undefined, { timeout: 15_000 });
      expect(note.textContent).toBe("No answer from silent: its checks are unknown.");
    } finally {
      await removeSilent();
    }
  }, 60_000);
});
