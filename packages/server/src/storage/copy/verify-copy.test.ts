import { describe, expect, it } from "vitest";
import type { Inventory } from "./inventory.js";
import { verifyCopy, type SettingsExpectation } from "./verify-copy.js";

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    services: { active: 2, degraded: 0, offline: 1, maintenance: 0 },
    leases: 1,
    heartbeats: 1,
    tokens: 2,
    revokedTokens: 1,
    vaultHeader: 1,
    secrets: 3,
    secretVersions: 5,
    keyUsageVersions: 2,
    encryptions: 9,
    auditEntries: 12,
    auditHead: "12:ab",
    peers: 1,
    imports: 4,
    meta: new Map(),
    tasks: 2,
    taskEvents: 7,
    identity: {
      users: 2,
      roles: 1,
      sessions: 3,
      revokedSessions: 1,
      totpFactors: 1,
      recoveryCodes: 9,
      passkeys: 1,
      securityEvents: 20,
      digests: { users: "u", roles: "r", sessions: "s", totp: "o", passkeys: "k", securityEvents: "e" },
    },
    data: { artifacts: 1, prompts: 1, promptVersions: 2, memories: 3, pushConfigs: 0, pluginInstalls: 1, pluginPackageBytes: 300, digests: { artifacts: "a", prompts: "p", memories: "m", pushConfigs: "c", pluginInstalls: "g" } },
    digests: { services: "s", leases: "l", tokens: "t", vaultHeader: "h", secrets: "x", keyUsage: "k", audit: "a", peers: "p", imports: "i", tasks: "q" },
    ...overrides,
  };
}

const settings: SettingsExpectation = {
  copied: new Map([["custom", "1"]]),
  epochKey: "registry.epoch",
  sourceEpoch: "old",
  identityKey: "identity.publicKey",
  sourceDid: "did:one",
  didOf: (pem) => (pem === "PEM" ? "did:one" : "did:other"),
};
const targetMeta = new Map([["custom", "1"], ["registry.epoch", "new"], ["identity.publicKey", "PEM"]]);

describe("verifyCopy", () => {
  it("agrees on an identical copy with a new epoch and the same identity", () => {
    const rows = verifyCopy(inventory(), inventory({ meta: targetMeta }), settings);
    expect(rows.filter((row) => !row.ok)).toEqual([]);
  });

  it("flags equal counts whose content differs (a plugin package's bytes too), a lost revocation, a kept epoch and another identity", () => {
    const target = inventory({
      revokedTokens: 0,
      digests: { ...inventory().digests, secrets: "changed" },
      identity: { ...inventory().identity, recoveryCodes: 10, digests: { ...inventory().identity.digests, sessions: "changed" } },
      data: { ...inventory().data, digests: { ...inventory().data.digests, pluginInstalls: "changed" } },
      meta: new Map([["custom", "2"], ["registry.epoch", "old"], ["identity.publicKey", "OTHER"]]),
    });
    const bad = verifyCopy(inventory(), target, settings).filter((row) => !row.ok).map((row) => row.kind.trim());
    expect(bad).toEqual(["revoked", "secrets", "plugin installs", "sessions", "recovery codes (unused)", "settings", "registry epoch", "node identity (DID)"]);
  });
});
