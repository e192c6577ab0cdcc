/**
 * `kai doctor` against a real node: one line per check with its hint, the summary on stderr; exit 0 with warnings,
 * 9 with a failure (the vault locked) or, with --strict, a warning; --json the API's answer; admin only (exit 4).
 */
import { describe, expect, it } from "vitest";
import { DoctorResponseSchema } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { useCliNode } from "./helpers.js";

/** The fixture's own token reads services only: not an admin. */
const node = useCliNode({ scopes: ["services:read"] });

const doctor = (args: string[] = [], token = node.server.adminToken) => node.kai(["doctor", ...args], { token });

describe("kai doctor", () => {
  it("prints each check and the hint under one that is not ok, exits 0 with warnings and 9 with --strict", async () => {
    const result = await doctor();
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toContain("ok    tls      off: plain HTTP on 127.0.0.1, this machine only");
    expect(lines).toContain("WARN  backups  no scheduled backups (backup.schedule: off); no backup in the backup directory");
    // Rate limits are off on this node: said, with what to do, on the line under it.
    const rateLimits = lines.findIndex((line) => line.startsWith("WARN  sign-in  rate limits are off"));
    expect(rateLimits).toBeGreaterThan(-1);
    expect(lines[rateLimits + 1]).toBe(`${" ".repeat(15)}→ set rateLimit.enabled: true (a restart)`);
    expect(result.stderr).toMatch(/^\S+: \d+ warnings, 0 failures$/m);

    const strict = await doctor(["--strict"]);
    expect(strict.code).toBe(9);
    expect(strict.stderr).toContain("a check warns (--strict)");
  });

  it("--json prints the answer as the API gives it", async () => {
    const result = await doctor(["--json"]);
    expect(result.code, result.stderr).toBe(0);
    const answer = DoctorResponseSchema.parse(JSON.parse(result.stdout));
    expect(answer.state).toBe("warn");
    expect(answer.checks.some((check) => check.area === "disk")).toBe(true);
  });

  it("exits 9 and prints FAIL while the vault is locked", async () => {
    const client = createClient({ url: node.server.url, token: node.server.adminToken });
    await client.vault.lock();
    try {
      const result = await doctor();
      expect(result.code).toBe(9);
      expect(result.stdout).toMatch(/^FAIL {2}vault {4}locked: secrets cannot be read, the node is not ready$/m);
      expect(result.stdout).toContain("→ kai vault unlock");
      expect(result.stderr).toMatch(/: \d+ warnings?, 1 failure$/m);
      expect(result.stderr).toContain("error: a check failed: see FAIL above (attention)");
    } finally {
      await client.vault.unlock();
    }
  });

  it("is for admins only (exit 4)", async () => {
    const result = await doctor([], node.token);
    expect(result.code).toBe(4);
  });
});
