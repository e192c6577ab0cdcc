// The Plugins page's problem and run-state pieces with listings shaped exactly as the node answers (parsed by the
// protocol's schema): a cluster change another instance made that this one did not apply (`field: "cluster"`, which
// takes PostgreSQL and two instances to produce for real: packages/server/test/plugins/cluster/) is marked, names the
// plugin's folder and is matched to that plugin's row; a stop by the CPU watchdog is marked `overloaded` with its
// reason; a crash is not. What the node actually reports for an overloaded plugin is driven end to end in
// test/browser/config-plugins.test.ts.
import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import { PluginListResponseSchema, PluginRuntimeSchema } from "@kai/protocol";
import { PluginProblems, RunState } from "./plugin-status";
import { cpuLimitWords, describePermission, problemsAbout } from "./plugin-words";

const CLUSTER_MESSAGE = "the install of echo 1.1.0 (revision 3, made on instance a) is not applied on this instance: its trust here is unverified, recorded trusted";

const listing = PluginListResponseSchema.parse({
  apiVersion: "1.0.0",
  plugins: [],
  errors: [
    { file: "/var/lib/kai/plugins/echo", field: "cluster", message: CLUSTER_MESSAGE },
    { file: "/opt/kai-plugins", message: "is not a folder" },
  ],
  scannedAt: "2026-12-05T06:00:00.000Z",
});

describe("the Plugins page's problems and run states", () => {
  it("marks a cluster change not applied on this instance and matches it to its plugin", () => {
    render(<PluginProblems problems={listing.errors} />);
    const items = within(screen.getByRole("region", { name: "Problems on this instance" })).getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual([
      `not applied here /var/lib/kai/plugins/echo: ${CLUSTER_MESSAGE}`,
      "/opt/kai-plugins: is not a folder",
    ]);
    expect(problemsAbout(listing.errors, "echo").map((problem) => problem.message)).toEqual([CLUSTER_MESSAGE]);
    expect(problemsAbout(listing.errors, "kai-plugins")).toEqual([]);
  });

  it("marks a stop by the CPU watchdog as overloaded, with the reason, and a crash as not", () => {
    const reason = "used 97% of a CPU over 10 s, more than its share of 50%";
    const overloaded = PluginRuntimeSchema.parse({ enabled: true, state: "restarting", reason, restarts: 1, capabilities: [] });
    const { unmount } = render(<RunState runtime={overloaded} />);
    expect(screen.getByText("overloaded")).toBeTruthy();
    expect(screen.getByText(`stopped by the CPU watchdog: ${reason}`)).toBeTruthy();
    unmount();
    const crashed = PluginRuntimeSchema.parse({ enabled: true, state: "restarting", reason: "was killed by SIGXCPU", restarts: 1, capabilities: [] });
    render(<RunState runtime={crashed} />);
    expect(screen.queryByText("overloaded")).toBeNull();
    expect(screen.getByText("was killed by SIGXCPU")).toBeTruthy();
  });

  it("says what agent_invoke grants and words a manifest's CPU limits", () => {
    expect(describePermission("agent_invoke:kPlanner:main")).toEqual({ kind: "agent_invoke", argument: "kPlanner:main", grants: "tasks handed to the agent kPlanner:main through kCore" });
    expect(describePermission("agent_invoke:kExecutor:*").grants).toBe("tasks handed to any kExecutor agent through kCore");
    expect(cpuLimitWords({ cpuPercent: 25, cpuWindowSeconds: 5 })).toBe("at most 25% of a CPU on average over 5 s (the lower of this and its trust level's limits applies)");
    expect(cpuLimitWords(undefined)).toBeUndefined();
  });
});
