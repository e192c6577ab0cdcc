/**
 * `kai services apply --prune` at scale: the stale services go through `POST /api/services/bulk-delete`, up to 1000
 * ids a request, so a prune of more services than the write rate limit allows requests (600 a minute a token by
 * default) completes. Before, one DELETE each stopped it after ~600 with `rate limit exceeded` (exit 8), half done,
 * and the token's other writes were refused meanwhile. The node here keeps its default rate limits, and the token is
 * not an admin's.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCliNode } from "./helpers.js";

const node = useCliNode({ scopes: ["services:read", "services:write"], owner: "alice", config: { rateLimit: { enabled: true } } });

/** A JSON manifest `fleet.json` of services `fleet-<i>` for i in [0, count). */
function writeFleet(count: number): string {
  const services = Array.from({ length: count }, (_, index) => ({ id: `fleet-${index}`, name: `Fleet ${index}`, endpoint: `http://127.0.0.1:9/${index}` }));
  const file = join(node.box.dir, "fleet.json");
  writeFileSync(file, JSON.stringify({ services }));
  return file;
}

const actionsOf = (stdout: string) => (JSON.parse(stdout) as { results: { id: string; action: string }[] }).results;
const tally = (results: { action: string }[]) => {
  const counts: Record<string, number> = {};
  for (const { action } of results) counts[action] = (counts[action] ?? 0) + 1;
  return counts;
};

async function statusOf(id: string, token = node.token): Promise<number> {
  return (await fetch(`${node.server.url}/api/services/${id}`, { headers: { authorization: `Bearer ${token}` } })).status;
}

describe("kai services apply --prune", () => {
  it("prunes 1,500 services, more than the write rate limit allows requests, in bulk and completely", async () => {
    const file = writeFleet(1600);
    const applied = await node.kai(["services", "apply", "-f", file, "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(tally(actionsOf(applied.stdout))).toEqual({ created: 1600 });

    // The file keeps the first 100: the other 1,500 are stale. A dry run names them all and removes none.
    writeFleet(100);
    const dry = await node.kai(["services", "apply", "-f", file, "--prune", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(tally(actionsOf(dry.stdout))).toEqual({ unchanged: 100, pruned: 1500 });
    expect(await statusOf("fleet-1599")).toBe(200);

    const pruned = await node.kai(["services", "apply", "-f", file, "--prune", "--json"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    const results = actionsOf(pruned.stdout);
    expect(tally(results)).toEqual({ unchanged: 100, pruned: 1500 });
    // Each pruned id reported, in the registry's order.
    expect(results.filter((result) => result.action === "pruned").map((result) => result.id)).toEqual(Array.from({ length: 1500 }, (_, index) => `fleet-${index + 100}`));
    expect(await statusOf("fleet-100")).toBe(404);
    expect(await statusOf("fleet-1599")).toBe(404);
    expect(await statusOf("fleet-99")).toBe(200);

    // The token's write bucket was hardly touched: its other writes still pass.
    const registered = await fetch(`${node.server.url}/api/services/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${node.token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "after-prune", name: "After", type: "service", url: "http://127.0.0.1:9/" }),
    });
    expect(registered.status).toBe(201);
    expect(Number(registered.headers.get("ratelimit-remaining"))).toBeGreaterThan(590);

    // Nothing left to prune: a second run changes nothing.
    const again = await node.kai(["services", "apply", "-f", file, "--prune"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain("pruned");
  });
});
