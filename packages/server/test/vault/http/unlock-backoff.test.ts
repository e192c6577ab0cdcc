/**
 * Wrong passphrases through the API: each one answers 403 `invalid_passphrase` and nothing more, the vault
 * stays locked, and after the free attempts further tries are refused with 429 `rate_limited` and a
 * Retry-After header — even with the right passphrase — until the wait is over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultStatusSchema } from "@kai/protocol";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_VAULT, PASSPHRASE, call, codeOf, mintVaultToken } from "./support.js";

let server: TestServer;
let vaultAdmin: string;

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: { ...FAST_VAULT, freeUnlockAttempts: 2 } } });
  vaultAdmin = await mintVaultToken(server, ["vault:admin"], "ops");
  expect((await call(server, "/api/vault/rekey", { method: "POST", token: vaultAdmin, json: { newPassphrase: PASSPHRASE } })).status).toBe(200);
  expect((await call(server, "/api/vault/lock", { method: "POST", token: vaultAdmin })).status).toBe(200);
});
afterAll(async () => server?.dispose());

const unlock = (passphrase: string) => call(server, "/api/vault/unlock", { method: "POST", token: vaultAdmin, json: { passphrase } });

describe("unlock backoff", () => {
  it("answers invalid_passphrase for the free attempts, then 429 with Retry-After, and unlocks once the wait is over", async () => {
    const messages = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const wrong = await unlock(`wrong passphrase number ${i}`);
      expect(wrong.status, wrong.text).toBe(403);
      expect(codeOf(wrong)).toBe("invalid_passphrase");
      expect(wrong.text).not.toContain("wrong passphrase number");
      messages.add((wrong.body as { error: { message: string } }).error.message);
    }
    expect(messages.size).toBe(1);

    const slowed = await unlock("wrong passphrase number 2");
    expect(slowed.status, slowed.text).toBe(429);
    expect(codeOf(slowed)).toBe("rate_limited");
    const retryAfter = Number(slowed.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    const status = VaultStatusSchema.parse((await call(server, "/api/vault/status", { token: vaultAdmin })).body);
    expect(status.locked).toBe(true);
    expect(status.unlockBackoffSeconds).toBeGreaterThan(0);

    // Within the wait even the right passphrase is refused: guessing cannot be sped up.
    const early = await unlock(PASSPHRASE);
    expect(early.status).toBe(429);

    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 200));
    const right = await unlock(PASSPHRASE);
    expect(right.status, right.text).toBe(200);
    expect(VaultStatusSchema.parse(right.body).locked).toBe(false);
  }, 30_000);
});
