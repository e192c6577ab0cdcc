/**
 * `kai artifact gc [--dry-run]` end to end: the built CLI against a real node. An admin's dry run prints what would be
 * removed (a blob no artifact names, made older than the grace on disk) and removes nothing; the real run removes it;
 * a token without `admin` exits with the unauthorized code.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../src/exit-codes.js";
import { useCliNode } from "./helpers.js";

const node = useCliNode({ scopes: ["artifacts:read", "artifacts:write"] });

describe("kai artifact gc", () => {
  it("counts with --dry-run, then removes an old blob no artifact names; refuses a token without admin", async () => {
    const orphan = Buffer.from("a blob whose artifact was never recorded");
    const digest = createHash("sha256").update(orphan).digest("hex");
    const path = join(node.server.dataDir, "artifacts", "blobs", digest.slice(0, 2), digest);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, orphan);
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    utimesSync(path, twoDaysAgo, twoDaysAgo);

    const dry = await node.kai(["artifact", "gc", "--dry-run"], { token: node.server.adminToken });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^orphan blobs to remove:\s+1$/m);
    expect(existsSync(path)).toBe(true);

    const swept = await node.kai(["artifact", "gc", "--json"], { token: node.server.adminToken });
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout)).toMatchObject({ dryRun: false, result: { orphansRemoved: 1, bytesFreed: orphan.length } });
    expect(existsSync(path)).toBe(false);

    expect((await node.kai(["artifact", "gc", "--dry-run"])).code).toBe(EXIT.unauthorized);
  });
});
