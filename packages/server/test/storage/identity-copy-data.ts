/**
 * @module test/storage/identity-copy-data
 * Sign-in data for the `kai storage copy` tests (copy/copy-storage.test.ts): `addIdentityData` writes something
 * of every identity kind into a stopped node's SQLite database through the store contract (a custom role, a
 * person with TOTP, recovery codes one of which is used, a passkey, a live and a revoked session; an agent with a
 * DID; a pending challenge; security events), and `identitySnapshot` reads back everything a copy must carry, so
 * the target can be compared with the source. `expectCopiedIdentity` checks what users rely on after the copy.
 */
import { join } from "node:path";
import { expect } from "vitest";
import type { IdentityStore } from "../../src/storage/contracts/identity-store.js";
import { openStore, type OpenStoreOptions } from "../../src/storage/index.js";
import { session, user } from "./identity-store-contract.js";

const at = (offsetMs = 0): string => new Date(Date.parse("2030-01-01T00:00:00.000Z") + offsetMs).toISOString();
const hash = (label: string): string => label.padEnd(64, "0");
const YEAR = 365 * 24 * 3600_000;

export const USED_CODE = hash("copy-code-used");
export const UNUSED_CODE = hash("copy-code-2");

export async function addIdentityData(dataDir: string): Promise<void> {
  const backend = await openStore({ kind: "sqlite", path: join(dataDir, "kai.db") });
  try {
    const store = backend.identityStore();
    await store.upsertRole({ name: "copy-auditor", description: "reads metrics", scopes: ["metrics:read"], createdAt: at(), updatedAt: at() });
    await store.insertUser(user("copy-u1", "Copy.Person", { passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", roles: ["copy-auditor"], preferences: { theme: "dark" } }));
    await store.insertUser(user("copy-u2", "kAgent:copy", { kind: "agent", did: "did:key:z6MkCopy", roles: ["viewer"] }));
    await store.insertSession(session("copy-s1", "copy-u1", { mfa: true, idleExpiresAt: at(YEAR), expiresAt: at(YEAR) }));
    await store.insertSession(session("copy-s2", "copy-u1", { revokedAt: at(5), revokedReason: "logout" }));
    await store.insertSession(session("copy-s3", "copy-u2", { method: "agent_key", idleExpiresAt: at(YEAR), expiresAt: at(YEAR) }));
    await store.putTotp({ userId: "copy-u1", sealedSecret: "sealed-totp", confirmed: true, lastStep: -1, createdAt: at() });
    expect(await store.consumeTotpStep("copy-u1", 63_000_000)).toBe(true);
    await store.replaceRecoveryCodes("copy-u1", [USED_CODE, UNUSED_CODE, hash("copy-code-3")], at());
    expect(await store.consumeRecoveryCode("copy-u1", USED_CODE, at(1))).toBe(true);
    await store.insertPasskey({ id: "copy-pk", userId: "copy-u1", publicKey: "pub", counter: 7, transports: ["internal"], name: "laptop", backedUp: true, createdAt: at(), lastUsedAt: at(2) });
    await store.putChallenge({ id: "copy-ch", kind: "sso_state", subject: null, data: "{}", expiresAt: at(YEAR), createdAt: at() });
    for (const type of ["sign_in", "mfa_enrolled", "sign_in_failed"]) {
      await store.appendSecurityEvent({ at: at(), type, outcome: type === "sign_in_failed" ? "failure" : "success", userId: "copy-u1", username: "Copy.Person", actor: null, address: "127.0.0.1", details: { method: "password" } });
    }
  } finally {
    await backend.close();
  }
}

/** Everything of sign-in a copy carries, as the store answers it (security events without their seq). */
export async function identitySnapshot(store: IdentityStore): Promise<unknown> {
  const users = await store.listUsers();
  const perUser = [];
  for (const { id } of users) {
    perUser.push({
      id,
      sessions: await store.listSessions(id),
      totp: await store.getTotp(id),
      recoveryCodes: await store.countRecoveryCodes(id),
      passkeys: await store.listPasskeys(id),
    });
  }
  const events = (await store.listSecurityEvents({ limit: 10_000 })).map(({ seq: _seq, ...event }) => event);
  return { users, roles: await store.listRoles(), perUser, events };
}

async function withStore<T>(options: OpenStoreOptions, read: (store: IdentityStore) => Promise<T>): Promise<T> {
  const backend = await openStore(options);
  try {
    return await read(backend.identityStore());
  } finally {
    await backend.close();
  }
}

/** The target holds what the source held; a used recovery code stayed used, a used TOTP step stays spent. */
export async function expectCopiedIdentity(sourceDir: string, target: OpenStoreOptions): Promise<void> {
  const expected = await withStore({ kind: "sqlite", path: join(sourceDir, "kai.db") }, identitySnapshot);
  await withStore(target, async (store) => {
    expect(await identitySnapshot(store)).toEqual(expected);
    expect((await store.getUserByUsername("copy.person"))?.id).toBe("copy-u1");
    expect((await store.getUserByDid("did:key:z6MkCopy"))?.username).toBe("kAgent:copy");
    expect(await store.consumeTotpStep("copy-u1", 63_000_000)).toBe(false);
    expect(await store.consumeRecoveryCode("copy-u1", USED_CODE, at(9))).toBe(false);
    expect(await store.consumeRecoveryCode("copy-u1", UNUSED_CODE, at(9))).toBe(true);
  });
}
