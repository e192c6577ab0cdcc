// The credential cache's one race (gateway/router/credentials.ts): a vault read that started before `forget` (a secret
// replaced meanwhile) answers its own request, but its old value is neither cached nor handed to requests made after
// the forget. A stand-in vault whose reads the test releases one by one makes the interleaving exact; the real vault
// and the real server are in test/gateway/credential-freshness.test.ts.
import { describe, expect, it } from "vitest";
import { CredentialResolver } from "../../../src/gateway/router/credentials.js";
import type { Vault } from "../../../src/vault/vault.js";

const RECORD = { id: "svc", auth: { type: "bearer_token" as const, credentialRef: "vault:providers/key" } };

/** getSecret answers with whatever `value` holds when the test releases that read. */
function slowVault() {
  const reads: Array<() => void> = [];
  const state = { value: "old", reads };
  const vault = {
    getSecret: () => new Promise((resolve) => reads.push(() => resolve({ name: "providers/key", value: state.value, version: 1 }))),
  } as unknown as Vault;
  return { vault, state };
}

describe("the credential cache and a forget during a read", () => {
  it("does not cache or share a value read before the forget", async () => {
    const { vault, state } = slowVault();
    const resolver = new CredentialResolver({ vault, env: {}, cacheMs: 60_000 });
    const before = resolver.resolve(RECORD);
    expect(state.reads).toHaveLength(1);
    // The secret is replaced while that read is in flight.
    state.value = "new";
    resolver.forget("vault:providers/key");
    const after = resolver.resolve(RECORD);
    // The request after the forget does not join the old read: it reads again.
    expect(state.reads).toHaveLength(2);
    state.value = "old";
    state.reads[0]!();
    expect((await before).credential).toBe("old");
    state.value = "new";
    state.reads[1]!();
    expect((await after).credential).toBe("new");
    // Cached is the value read after the forget, not the older one that finished first.
    expect(resolver.resolveCached(RECORD)?.credential).toBe("new");
  });
});
