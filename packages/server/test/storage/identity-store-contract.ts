/**
 * @module test/storage/identity-store-contract
 * The conformance suite every `IdentityStore` backend must pass (the rules in the header of
 * src/storage/contracts/identity-store.ts). A backend's test file calls `runIdentityStoreContract(name, open)`;
 * `open` returns a fresh, empty backend and a cleanup, and optionally:
 * - `reopen`: a new backend on the same data after the first was closed (durable backends: SQLite, PostgreSQL);
 * - `twin`: a second backend on the same database, as a second instance of the node would have (PostgreSQL). The
 *   races then run one caller on each, so "exactly one wins" is shown across instances, not only inside one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  IdentityConflict,
  type IdentityStore,
  type NewSecurityEvent,
  type SessionRow,
  type UserRow,
} from "../../src/storage/contracts/identity-store.js";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";

export interface OpenedIdentityBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
  twin?: () => Promise<StorageBackend>;
}

export type OpenIdentityBackend = () => Promise<OpenedIdentityBackend>;

const BASE = Date.parse("2030-05-06T07:08:09.000Z");
const at = (offsetMs = 0): string => new Date(BASE + offsetMs).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const hash = (label: string): string => label.padEnd(64, "0");

export function user(id: string, username: string, overrides: Partial<UserRow> = {}): UserRow {
  return {
    id,
    username,
    kind: "person",
    displayName: null,
    passwordHash: null,
    did: null,
    ssoSubject: null,
    state: "active",
    roles: ["viewer"],
    mustChangePassword: false,
    preferences: {},
    createdAt: at(),
    updatedAt: at(),
    passwordChangedAt: null,
    lastSignInAt: null,
    ...overrides,
  };
}

export function session(id: string, userId: string, overrides: Partial<SessionRow> = {}): SessionRow {
  return {
    id,
    userId,
    method: "password",
    mfa: false,
    refreshHash: hash(`${id}-r0`),
    previousRefreshHash: null,
    rotatedAt: at(),
    generation: 0,
    createdAt: at(),
    lastUsedAt: at(),
    idleExpiresAt: at(HOUR),
    expiresAt: at(24 * HOUR),
    revokedAt: null,
    revokedReason: null,
    userAgent: null,
    address: null,
    ...overrides,
  };
}

function event(type: string, userId: string | null, offsetMs = 0): NewSecurityEvent {
  return { at: at(offsetMs), type, outcome: "success", userId, username: userId, actor: null, address: "127.0.0.1", details: { n: offsetMs } };
}

async function conflictOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IdentityConflict);
  return (error as IdentityConflict).field;
}

export function runIdentityStoreContract(name: string, open: OpenIdentityBackend, options: { durable: boolean }): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let opened: OpenedIdentityBackend;
    let backends: StorageBackend[];
    let store: IdentityStore;
    /** The racing second caller: another instance on the same database when the backend has one, else the same store. */
    let other: IdentityStore;

    beforeEach(async () => {
      opened = await open();
      backends = [opened.backend];
      store = opened.backend.identityStore();
      other = store;
      if (opened.twin) {
        const twin = await opened.twin();
        backends.push(twin);
        other = twin.identityStore();
      }
    });
    afterEach(async () => {
      for (const backend of backends) await backend.close().catch(() => undefined);
      await opened.cleanup();
    });

    describe("users", () => {
      it("round-trips every field and answers null for an absent user", async () => {
        const full = user("u1", "Alice", {
          kind: "agent",
          displayName: "Alice A.",
          passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
          did: "did:key:z6MkAlice",
          ssoSubject: "corp|1234",
          state: "disabled",
          roles: ["operator", "custom-role"],
          mustChangePassword: true,
          preferences: { theme: "dark", language: "de" },
          passwordChangedAt: at(1000),
          lastSignInAt: at(2000),
        });
        await store.insertUser(full);
        expect(await store.getUser("u1")).toEqual(full);
        expect(await other.getUser("u1")).toEqual(full);
        expect(await store.getUser("absent")).toBeNull();
        expect(await store.getUserByDid("did:key:z6MkAlice")).toEqual(full);
        expect(await store.getUserBySsoSubject("corp|1234")).toEqual(full);
        expect(await store.getUserByDid("did:key:none")).toBeNull();
        expect(await store.getUserBySsoSubject("corp|none")).toBeNull();
      });

      it("finds usernames case-insensitively and refuses a second user whose name differs only in case", async () => {
        await store.insertUser(user("u1", "Alice"));
        expect((await store.getUserByUsername("alice"))?.id).toBe("u1");
        expect((await store.getUserByUsername("ALICE"))?.username).toBe("Alice");
        expect(await store.getUserByUsername("bob")).toBeNull();
        expect(await conflictOf(store.insertUser(user("u2", "alice")))).toBe("username");
        expect(await store.getUser("u2")).toBeNull();
        expect(await store.countUsers()).toBe(1);
      });

      it("keeps did and ssoSubject unique when set, and allows many users without them", async () => {
        await store.insertUser(user("u1", "a1", { did: "did:key:z1", ssoSubject: "idp|1" }));
        await store.insertUser(user("u2", "a2"));
        await store.insertUser(user("u3", "a3"));
        expect(await conflictOf(store.insertUser(user("u4", "a4", { did: "did:key:z1" })))).toBe("did");
        expect(await conflictOf(store.insertUser(user("u5", "a5", { ssoSubject: "idp|1" })))).toBe("ssoSubject");
        expect(await store.countUsers()).toBe(3);
      });

      it("refuses an insert that clashes with a user created by another instance", async () => {
        await store.insertUser(user("u1", "carol"));
        expect(await conflictOf(other.insertUser(user("u2", "Carol")))).toBe("username");
      });

      it("applies a patch, keeps id and createdAt, follows a rename, and answers null for an absent user", async () => {
        await store.insertUser(user("u1", "alice"));
        const updated = await store.updateUser("u1", {
          username: "Alicia",
          displayName: "Alicia",
          roles: ["admin"],
          state: "disabled",
          mustChangePassword: true,
          preferences: { theme: "light" },
          updatedAt: at(5000),
          ...({ id: "hijack", createdAt: at(-1) } as object),
        });
        const expected = { ...user("u1", "Alicia"), displayName: "Alicia", roles: ["admin"], state: "disabled", mustChangePassword: true, preferences: { theme: "light" }, updatedAt: at(5000) };
        expect(updated).toEqual(expected);
        expect(await store.getUser("u1")).toEqual(expected);
        expect(await store.getUser("hijack")).toBeNull();
        expect(await store.getUserByUsername("alice")).toBeNull();
        expect((await store.getUserByUsername("alicia"))?.id).toBe("u1");
        expect(await store.updateUser("absent", { displayName: "x" })).toBeNull();
      });

      it("refuses an update onto another user's username, did or ssoSubject and leaves the user unchanged", async () => {
        await store.insertUser(user("u1", "alice", { did: "did:key:za", ssoSubject: "idp|a" }));
        await store.insertUser(user("u2", "bob"));
        expect(await conflictOf(store.updateUser("u2", { username: "ALICE" }))).toBe("username");
        expect(await conflictOf(store.updateUser("u2", { did: "did:key:za" }))).toBe("did");
        expect(await conflictOf(store.updateUser("u2", { ssoSubject: "idp|a" }))).toBe("ssoSubject");
        expect(await store.getUser("u2")).toEqual(user("u2", "bob"));
        // A user may change the case of its own name.
        expect((await store.updateUser("u1", { username: "Alice" }))?.username).toBe("Alice");
      });

      it("lists every user ordered by username and counts them", async () => {
        expect(await store.listUsers()).toEqual([]);
        expect(await store.countUsers()).toBe(0);
        for (const [id, name] of [["u1", "carol"], ["u2", "Alice"], ["u3", "bob"]] as const) await store.insertUser(user(id, name));
        expect((await store.listUsers()).map((u) => u.username)).toEqual(["Alice", "bob", "carol"]);
        expect(await store.countUsers()).toBe(3);
      });

      it("hands out rows of the caller's own: changing one changes nothing stored", async () => {
        await store.insertUser(user("u1", "alice"));
        const got = (await store.getUser("u1"))!;
        got.roles.push("admin");
        got.preferences.theme = "dark";
        expect(await store.getUser("u1")).toEqual(user("u1", "alice"));
      });

      it("deletes a user with their sessions, factors and challenges, but keeps their security events and other users' data", async () => {
        await store.insertUser(user("u1", "alice", { did: "did:key:zA" }));
        await store.insertUser(user("u2", "bob"));
        for (const owner of ["u1", "u2"]) {
          await store.insertSession(session(`s-${owner}`, owner));
          await store.putTotp({ userId: owner, sealedSecret: "sealed", confirmed: true, lastStep: -1, createdAt: at() });
          await store.replaceRecoveryCodes(owner, [hash(`${owner}-c1`), hash(`${owner}-c2`)], at());
          await store.insertPasskey({ id: `pk-${owner}`, userId: owner, publicKey: "pub", counter: 0, transports: [], name: null, backedUp: false, createdAt: at(), lastUsedAt: null });
          await store.putChallenge({ id: `ch-${owner}`, kind: "webauthn_register", subject: owner, data: "{}", expiresAt: at(HOUR), createdAt: at() });
          await store.appendSecurityEvent(event("sign_in", owner));
        }
        await store.putChallenge({ id: "ch-did", kind: "agent_sign_in", subject: "did:key:zA", data: "{}", expiresAt: at(HOUR), createdAt: at() });
        await store.putChallenge({ id: "ch-none", kind: "sso_state", subject: null, data: "{}", expiresAt: at(HOUR), createdAt: at() });

        expect(await store.deleteUser("u1")).toBe(true);
        expect(await store.deleteUser("u1")).toBe(false);
        expect(await store.getUser("u1")).toBeNull();
        expect(await store.getUserByUsername("alice")).toBeNull();
        expect(await store.getSession("s-u1")).toBeNull();
        expect(await store.listSessions("u1")).toEqual([]);
        expect(await store.getTotp("u1")).toBeNull();
        expect(await store.countRecoveryCodes("u1")).toBe(0);
        expect(await store.getPasskey("pk-u1")).toBeNull();
        expect(await store.takeChallenge("ch-u1", "webauthn_register", at())).toBeNull();
        expect(await store.takeChallenge("ch-did", "agent_sign_in", at())).toBeNull();
        expect((await store.listSecurityEvents({ limit: 10, userId: "u1" })).length).toBe(1);

        expect(await store.getSession("s-u2")).not.toBeNull();
        expect(await store.getTotp("u2")).not.toBeNull();
        expect(await store.countRecoveryCodes("u2")).toBe(2);
        expect(await store.getPasskey("pk-u2")).not.toBeNull();
        expect(await store.takeChallenge("ch-u2", "webauthn_register", at())).not.toBeNull();
        expect(await store.takeChallenge("ch-none", "sso_state", at())).not.toBeNull();
        // The name is free again.
        await store.insertUser(user("u3", "Alice"));
      });
    });

    describe("custom roles", () => {
      it("inserts, updates (keeping the first creation time), lists by name and deletes", async () => {
        await store.upsertRole({ name: "ops", description: "Operators", scopes: ["services:read"], createdAt: at(), updatedAt: at() });
        await store.upsertRole({ name: "auditor", description: null, scopes: [], createdAt: at(1), updatedAt: at(1) });
        await store.upsertRole({ name: "ops", description: null, scopes: ["services:read", "metrics:read"], createdAt: at(9), updatedAt: at(9) });
        expect(await store.listRoles()).toEqual([
          { name: "auditor", description: null, scopes: [], createdAt: at(1), updatedAt: at(1) },
          { name: "ops", description: null, scopes: ["services:read", "metrics:read"], createdAt: at(), updatedAt: at(9) },
        ]);
        expect(await store.deleteRole("ops")).toBe(true);
        expect(await store.deleteRole("ops")).toBe(false);
        expect((await store.listRoles()).map((role) => role.name)).toEqual(["auditor"]);
      });

      it("refuses a role whose name differs from an existing one only in case", async () => {
        await store.upsertRole({ name: "ops", description: null, scopes: [], createdAt: at(), updatedAt: at() });
        expect(await conflictOf(other.upsertRole({ name: "OPS", description: null, scopes: ["admin"], createdAt: at(), updatedAt: at() }))).toBe("role");
        expect((await store.listRoles()).map((role) => role.scopes)).toEqual([[]]);
      });
    });

    describe("sessions", () => {
      beforeEach(async () => {
        await store.insertUser(user("u1", "alice"));
        await store.insertUser(user("u2", "bob"));
      });

      it("round-trips a session and lists a user's sessions newest first, revoked ones included", async () => {
        const full = session("s1", "u1", { method: "passkey", mfa: true, userAgent: "curl/8", address: "::1", createdAt: at(1) });
        await store.insertSession(full);
        await store.insertSession(session("s2", "u1", { createdAt: at(3) }));
        await store.insertSession(session("s3", "u1", { createdAt: at(2), revokedAt: at(2), revokedReason: "logout" }));
        await store.insertSession(session("s4", "u2"));
        expect(await store.getSession("s1")).toEqual(full);
        expect(await store.getSession("absent")).toBeNull();
        expect((await store.listSessions("u1")).map((s) => s.id)).toEqual(["s2", "s3", "s1"]);
        expect(await store.listSessions("nobody")).toEqual([]);
      });

      it("lists as active only unrevoked sessions within their idle and absolute limits", async () => {
        await store.insertSession(session("live", "u1"));
        await store.insertSession(session("revoked", "u1", { revokedAt: at(), revokedReason: "logout" }));
        await store.insertSession(session("idle", "u1", { idleExpiresAt: at(MINUTE) }));
        await store.insertSession(session("old", "u2", { expiresAt: at(MINUTE) }));
        expect((await store.listActiveSessions(at(MINUTE))).map((s) => s.id)).toEqual(["live"]);
        expect((await store.listActiveSessions(at())).map((s) => s.id).sort()).toEqual(["idle", "live", "old"]);
      });

      it("revokes a session once, keeping the first time and reason", async () => {
        await store.insertSession(session("s1", "u1"));
        expect(await store.revokeSession("s1", at(10), "logout")).toBe(true);
        expect(await other.revokeSession("s1", at(20), "admin")).toBe(false);
        expect(await store.revokeSession("absent", at(), "admin")).toBe(false);
        expect(await store.getSession("s1")).toMatchObject({ revokedAt: at(10), revokedReason: "logout" });
      });

      it("revokes every unrevoked session of a user but the one kept, and names the ones it revoked", async () => {
        await store.insertSession(session("keep", "u1"));
        await store.insertSession(session("a", "u1"));
        await store.insertSession(session("b", "u1"));
        await store.insertSession(session("gone", "u1", { revokedAt: at(), revokedReason: "logout" }));
        await store.insertSession(session("other", "u2"));
        expect((await store.revokeUserSessions("u1", at(5), "password_changed", "keep")).sort()).toEqual(["a", "b"]);
        expect(await store.getSession("gone")).toMatchObject({ revokedReason: "logout" });
        expect(await store.getSession("keep")).toMatchObject({ revokedAt: null });
        expect(await store.getSession("other")).toMatchObject({ revokedAt: null });
        expect(await store.getSession("a")).toMatchObject({ revokedAt: at(5), revokedReason: "password_changed" });
        expect(await store.revokeUserSessions("u1", at(6), "user_disabled")).toEqual(["keep"]);
      });

      it("prunes the sessions that ended before the given time and only those", async () => {
        await store.insertSession(session("live", "u1"));
        await store.insertSession(session("revoked-early", "u1", { revokedAt: at(MINUTE), revokedReason: "logout" }));
        await store.insertSession(session("revoked-late", "u1", { revokedAt: at(3 * MINUTE), revokedReason: "logout" }));
        await store.insertSession(session("idle-early", "u1", { idleExpiresAt: at(MINUTE) }));
        await store.insertSession(session("absolute-early", "u2", { expiresAt: at(MINUTE) }));
        expect(await store.pruneSessions(at(2 * MINUTE))).toBe(3);
        expect((await store.listSessions("u1")).map((s) => s.id).sort()).toEqual(["live", "revoked-late"]);
        expect(await store.listSessions("u2")).toEqual([]);
        expect(await store.pruneSessions(at(2 * MINUTE))).toBe(0);
      });
    });

    describe("refresh rotation", () => {
      const rotation = (presented: string, next: string, offsetMs: number, graceMs = 10_000) => ({
        sessionId: "s1",
        presentedHash: presented,
        nextHash: next,
        now: at(offsetMs),
        idleExpiresAt: at(offsetMs + HOUR),
        graceMs,
      });
      const R0 = hash("s1-r0");

      beforeEach(async () => {
        await store.insertUser(user("u1", "alice"));
        await store.insertSession(session("s1", "u1"));
      });

      it("rotates the current token: the next one becomes current and the presented one previous, stored", async () => {
        const result = await store.rotateRefresh(rotation(R0, hash("r1"), MINUTE));
        const expected = {
          ...session("s1", "u1"),
          refreshHash: hash("r1"),
          previousRefreshHash: R0,
          rotatedAt: at(MINUTE),
          generation: 1,
          lastUsedAt: at(MINUTE),
          idleExpiresAt: at(MINUTE + HOUR),
        };
        expect(result).toEqual({ outcome: "rotated", session: expected });
        expect(await other.getSession("s1")).toEqual(expected);
        // Rotates again from the new token (on another instance when there is one).
        expect(await other.rotateRefresh(rotation(hash("r1"), hash("r2"), 2 * MINUTE))).toMatchObject({ outcome: "rotated", session: { refreshHash: hash("r2"), generation: 2 } });
      });

      it("rotates again when the token just replaced comes back within the grace window (a lost answer's retry)", async () => {
        await store.rotateRefresh(rotation(R0, hash("r1"), MINUTE));
        const retry = await store.rotateRefresh(rotation(R0, hash("r1b"), MINUTE + 5_000));
        expect(retry).toMatchObject({ outcome: "rotated", session: { refreshHash: hash("r1b"), generation: 2, revokedAt: null } });
        expect((await store.getSession("s1"))?.refreshHash).toBe(hash("r1b"));
        // The token whose answer was lost is spent for good; the retry's token works.
        expect(await store.rotateRefresh(rotation(hash("r1"), hash("x"), MINUTE + 6_000))).toEqual({ outcome: "unknown" });
        expect(await store.rotateRefresh(rotation(hash("r1b"), hash("r2"), MINUTE + 7_000))).toMatchObject({ outcome: "rotated" });
      });

      it("does not stretch the grace window by retrying: a retry after it, counted from the first rotation, is a reuse", async () => {
        await store.rotateRefresh(rotation(R0, hash("r1"), MINUTE));
        await store.rotateRefresh(rotation(R0, hash("r1b"), MINUTE + 8_000));
        expect(await store.rotateRefresh(rotation(R0, hash("r1c"), MINUTE + 12_000))).toMatchObject({ outcome: "reused" });
      });

      it("treats a spent token after the grace window as reuse and revokes the session in the same call", async () => {
        await store.rotateRefresh(rotation(R0, hash("r1"), MINUTE));
        const reuse = await other.rotateRefresh(rotation(R0, hash("evil"), MINUTE + 11_000));
        expect(reuse).toMatchObject({ outcome: "reused", session: { id: "s1", revokedAt: at(MINUTE + 11_000), revokedReason: "refresh_reuse" } });
        expect(await store.getSession("s1")).toMatchObject({ refreshHash: hash("r1"), revokedAt: at(MINUTE + 11_000), revokedReason: "refresh_reuse" });
        expect(await store.listActiveSessions(at(MINUTE + 12_000))).toEqual([]);
        // The legitimate holder's current token now meets a revoked session.
        expect(await store.rotateRefresh(rotation(hash("r1"), hash("r2"), MINUTE + 12_000))).toMatchObject({ outcome: "revoked" });
      });

      it("answers revoked for a revoked session and changes nothing", async () => {
        await store.revokeSession("s1", at(1), "logout");
        const before = await store.getSession("s1");
        expect(await store.rotateRefresh(rotation(R0, hash("r1"), MINUTE))).toEqual({ outcome: "revoked", session: before });
        expect(await store.getSession("s1")).toEqual(before);
      });

      it("answers expired past the idle or the absolute limit and changes nothing", async () => {
        const before = await store.getSession("s1");
        expect(await store.rotateRefresh(rotation(R0, hash("r1"), HOUR))).toEqual({ outcome: "expired", session: before });
        await store.insertSession(session("s2", "u1", { idleExpiresAt: at(48 * HOUR) }));
        expect(await store.rotateRefresh({ ...rotation(hash("s2-r0"), hash("r1"), 24 * HOUR), sessionId: "s2" })).toMatchObject({ outcome: "expired" });
        expect(await store.getSession("s1")).toEqual(before);
      });

      it("answers unknown for an absent session or a token that was never the session's", async () => {
        expect(await store.rotateRefresh({ ...rotation(R0, hash("r1"), MINUTE), sessionId: "absent" })).toEqual({ outcome: "unknown" });
        expect(await store.rotateRefresh(rotation(hash("never"), hash("r1"), MINUTE))).toEqual({ outcome: "unknown" });
        expect((await store.getSession("s1"))?.generation).toBe(0);
      });

      it("lets exactly one of two racing rotations of one token win when there is no grace: the other is a reuse", async () => {
        const results = await Promise.all([
          store.rotateRefresh(rotation(R0, hash("a"), MINUTE, 0)),
          other.rotateRefresh(rotation(R0, hash("b"), MINUTE, 0)),
        ]);
        const outcomes = results.map((result) => result.outcome).sort();
        expect(outcomes).toEqual(["reused", "rotated"]);
        const stored = await store.getSession("s1");
        expect(stored).toMatchObject({ generation: 1, revokedReason: "refresh_reuse" });
        expect([hash("a"), hash("b")]).toContain(stored?.refreshHash);
      });

      it("loses no rotation when two race within the grace window: both rotate, one after the other", async () => {
        const results = await Promise.all([store.rotateRefresh(rotation(R0, hash("a"), MINUTE)), other.rotateRefresh(rotation(R0, hash("b"), MINUTE))]);
        expect(results.map((result) => result.outcome)).toEqual(["rotated", "rotated"]);
        const stored = await store.getSession("s1");
        expect(stored).toMatchObject({ generation: 2, previousRefreshHash: R0, revokedAt: null });
        expect([hash("a"), hash("b")]).toContain(stored?.refreshHash);
      });
    });

    describe("TOTP", () => {
      beforeEach(async () => {
        await store.insertUser(user("u1", "alice"));
      });

      it("stores, replaces and deletes a user's TOTP factor", async () => {
        expect(await store.getTotp("u1")).toBeNull();
        await store.putTotp({ userId: "u1", sealedSecret: "s1", confirmed: false, lastStep: -1, createdAt: at() });
        await store.putTotp({ userId: "u1", sealedSecret: "s2", confirmed: true, lastStep: 7, createdAt: at(1) });
        expect(await other.getTotp("u1")).toEqual({ userId: "u1", sealedSecret: "s2", confirmed: true, lastStep: 7, createdAt: at(1) });
        expect(await store.deleteTotp("u1")).toBe(true);
        expect(await store.deleteTotp("u1")).toBe(false);
        expect(await store.getTotp("u1")).toBeNull();
      });

      it("accepts each time step once and never one older than the last accepted", async () => {
        await store.putTotp({ userId: "u1", sealedSecret: "s", confirmed: true, lastStep: -1, createdAt: at() });
        expect(await store.consumeTotpStep("u1", 1000)).toBe(true);
        expect(await store.consumeTotpStep("u1", 1000)).toBe(false);
        expect(await store.consumeTotpStep("u1", 999)).toBe(false);
        expect(await store.consumeTotpStep("u1", 1001)).toBe(true);
        expect((await store.getTotp("u1"))?.lastStep).toBe(1001);
        expect(await store.consumeTotpStep("nobody", 5)).toBe(false);
      });

      it("lets exactly one of two racing uses of one time step win", async () => {
        await store.putTotp({ userId: "u1", sealedSecret: "s", confirmed: true, lastStep: -1, createdAt: at() });
        for (const step of [56_000_000, 56_000_001, 56_000_002]) {
          const wins = await Promise.all([store.consumeTotpStep("u1", step), other.consumeTotpStep("u1", step)]);
          expect(wins.filter(Boolean)).toHaveLength(1);
        }
      });
    });

    describe("recovery codes", () => {
      beforeEach(async () => {
        await store.insertUser(user("u1", "alice"));
        await store.insertUser(user("u2", "bob"));
      });

      it("uses each code once, counts the unused ones, and a new set replaces the old", async () => {
        await store.replaceRecoveryCodes("u1", [hash("c1"), hash("c2"), hash("c3")], at());
        expect(await store.countRecoveryCodes("u1")).toBe(3);
        expect(await store.consumeRecoveryCode("u1", hash("c2"), at(1))).toBe(true);
        expect(await store.consumeRecoveryCode("u1", hash("c2"), at(2))).toBe(false);
        expect(await store.consumeRecoveryCode("u2", hash("c1"), at(2))).toBe(false);
        expect(await store.consumeRecoveryCode("u1", hash("nope"), at(2))).toBe(false);
        expect(await store.countRecoveryCodes("u1")).toBe(2);
        await store.replaceRecoveryCodes("u1", [hash("d1"), hash("d2")], at(3));
        expect(await store.countRecoveryCodes("u1")).toBe(2);
        expect(await store.consumeRecoveryCode("u1", hash("c1"), at(4))).toBe(false);
        expect(await store.consumeRecoveryCode("u1", hash("d1"), at(4))).toBe(true);
        expect(await store.countRecoveryCodes("u2")).toBe(0);
      });

      it("lets exactly one of two racing uses of one code win", async () => {
        const codes = [hash("c1"), hash("c2"), hash("c3")];
        await store.replaceRecoveryCodes("u1", codes, at());
        for (const code of codes) {
          const wins = await Promise.all([store.consumeRecoveryCode("u1", code, at(1)), other.consumeRecoveryCode("u1", code, at(1))]);
          expect(wins.filter(Boolean)).toHaveLength(1);
        }
        expect(await store.countRecoveryCodes("u1")).toBe(0);
      });
    });

    describe("passkeys", () => {
      const passkey = (id: string, userId: string, createdOffset = 0) => ({
        id,
        userId,
        publicKey: `pub-${id}`,
        counter: 0,
        transports: ["internal", "hybrid"],
        name: `key ${id}`,
        backedUp: true,
        createdAt: at(createdOffset),
        lastUsedAt: null,
      });

      beforeEach(async () => {
        await store.insertUser(user("u1", "alice"));
        await store.insertUser(user("u2", "bob"));
      });

      it("stores, lists in creation order, records uses and deletes only the owner's passkeys", async () => {
        await store.insertPasskey(passkey("k2", "u1", 2));
        await store.insertPasskey(passkey("k1", "u1", 1));
        await store.insertPasskey(passkey("k3", "u2"));
        expect(await store.getPasskey("k1")).toEqual(passkey("k1", "u1", 1));
        expect(await store.getPasskey("absent")).toBeNull();
        expect((await store.listPasskeys("u1")).map((row) => row.id)).toEqual(["k1", "k2"]);
        await store.touchPasskey("k1", 4_000_000_000, at(9));
        expect(await other.getPasskey("k1")).toMatchObject({ counter: 4_000_000_000, lastUsedAt: at(9) });
        expect(await store.deletePasskey("u2", "k1")).toBe(false);
        expect(await store.deletePasskey("u1", "k1")).toBe(true);
        expect(await store.deletePasskey("u1", "k1")).toBe(false);
        expect((await store.listPasskeys("u1")).map((row) => row.id)).toEqual(["k2"]);
      });

      it("refuses a credential id that is already registered, whoever holds it", async () => {
        await store.insertPasskey(passkey("k1", "u1"));
        expect(await conflictOf(other.insertPasskey(passkey("k1", "u2")))).toBe("passkey");
        expect((await store.getPasskey("k1"))?.userId).toBe("u1");
      });
    });

    describe("one-time challenges", () => {
      const challenge = (id: string, expiresOffset = MINUTE) => ({
        id,
        kind: "agent_sign_in" as const,
        subject: "did:key:z1",
        data: '{"nonce":"abc"}',
        expiresAt: at(expiresOffset),
        createdAt: at(),
      });

      it("hands a challenge out once, only for its kind and only before it expires", async () => {
        await store.putChallenge(challenge("c1"));
        await store.putChallenge(challenge("c2", 10));
        expect(await store.takeChallenge("c1", "webauthn_sign_in", at())).toBeNull();
        expect(await store.takeChallenge("c1", "agent_sign_in", at())).toEqual(challenge("c1"));
        expect(await store.takeChallenge("c1", "agent_sign_in", at())).toBeNull();
        expect(await store.takeChallenge("c2", "agent_sign_in", at(10))).toBeNull();
        expect(await store.takeChallenge("absent", "agent_sign_in", at())).toBeNull();
      });

      it("lets exactly one of two racing takes of one challenge win", async () => {
        for (let i = 0; i < 3; i++) {
          await store.putChallenge(challenge(`race-${i}`));
          const taken = await Promise.all([store.takeChallenge(`race-${i}`, "agent_sign_in", at()), other.takeChallenge(`race-${i}`, "agent_sign_in", at())]);
          expect(taken.filter((row) => row !== null)).toHaveLength(1);
        }
      });

      it("prunes expired challenges and keeps the rest", async () => {
        await store.putChallenge(challenge("old", 10));
        await store.putChallenge(challenge("older", 5));
        await store.putChallenge(challenge("fresh", HOUR));
        expect(await store.pruneChallenges(at(10))).toBe(2);
        expect(await store.pruneChallenges(at(10))).toBe(0);
        expect(await store.takeChallenge("fresh", "agent_sign_in", at(10))).not.toBeNull();
      });
    });

    describe("security log", () => {
      it("assigns increasing sequence numbers and keeps every field", async () => {
        const full: NewSecurityEvent = {
          at: at(),
          type: "role_changed",
          outcome: "failure",
          userId: "u1",
          username: "alice",
          actor: "admin",
          address: "10.0.0.1",
          details: { before: ["viewer"], after: ["admin"], session: "s1" },
        };
        const first = await store.appendSecurityEvent(full);
        const second = await other.appendSecurityEvent(event("sign_in", null));
        expect(first).toEqual({ ...full, seq: first.seq });
        expect(second.seq).toBeGreaterThan(first.seq);
        expect(await store.listSecurityEvents({ limit: 10 })).toEqual([second, first]);
      });

      it("pages newest first with before, and filters by user and type", async () => {
        const written = [];
        for (let i = 0; i < 12; i++) written.push(await store.appendSecurityEvent(event(i % 3 === 0 ? "sign_in_failed" : "sign_in", i % 2 === 0 ? "u1" : "u2", i)));
        const seqs = (rows: { seq: number }[]) => rows.map((row) => row.seq);
        const newestFirst = [...written].reverse();

        const page1 = await store.listSecurityEvents({ limit: 5 });
        expect(seqs(page1)).toEqual(seqs(newestFirst.slice(0, 5)));
        const page2 = await store.listSecurityEvents({ limit: 5, before: page1.at(-1)!.seq });
        expect(seqs(page2)).toEqual(seqs(newestFirst.slice(5, 10)));
        const page3 = await store.listSecurityEvents({ limit: 5, before: page2.at(-1)!.seq });
        expect(seqs(page3)).toEqual(seqs(newestFirst.slice(10)));

        expect(seqs(await store.listSecurityEvents({ limit: 100, userId: "u1" }))).toEqual(seqs(newestFirst.filter((e) => e.userId === "u1")));
        expect(seqs(await store.listSecurityEvents({ limit: 100, type: "sign_in_failed" }))).toEqual(seqs(newestFirst.filter((e) => e.type === "sign_in_failed")));
        const both = newestFirst.filter((e) => e.userId === "u2" && e.type === "sign_in");
        expect(seqs(await store.listSecurityEvents({ limit: 2, userId: "u2", type: "sign_in" }))).toEqual(seqs(both.slice(0, 2)));
        expect(seqs(await store.listSecurityEvents({ limit: 100, userId: "u2", type: "sign_in", before: both[1]!.seq }))).toEqual(seqs(both.slice(2)));
        expect(await store.listSecurityEvents({ limit: 10, userId: "nobody" })).toEqual([]);
      });
    });

    // Memory keeps nothing across a restart by design: only durable backends (which give `reopen`) run this.
    if (options.durable) {
      it("keeps everything across close and reopen", async () => {
        expect(opened.reopen).toBeDefined();
        await store.insertUser(user("u1", "Alice", { did: "did:key:zA", roles: ["admin"] }));
        await store.upsertRole({ name: "ops", description: null, scopes: ["services:read"], createdAt: at(), updatedAt: at() });
        await store.insertSession(session("s1", "u1"));
        await store.rotateRefresh({ sessionId: "s1", presentedHash: hash("s1-r0"), nextHash: hash("r1"), now: at(1), idleExpiresAt: at(HOUR), graceMs: 0 });
        await store.putTotp({ userId: "u1", sealedSecret: "sealed", confirmed: true, lastStep: -1, createdAt: at() });
        await store.consumeTotpStep("u1", 42);
        await store.replaceRecoveryCodes("u1", [hash("c1"), hash("c2")], at());
        await store.consumeRecoveryCode("u1", hash("c1"), at());
        await store.insertPasskey({ id: "k1", userId: "u1", publicKey: "pub", counter: 3, transports: ["usb"], name: null, backedUp: false, createdAt: at(), lastUsedAt: null });
        await store.putChallenge({ id: "c1", kind: "sso_state", subject: null, data: "{}", expiresAt: at(HOUR), createdAt: at() });
        const logged = await store.appendSecurityEvent(event("sign_in", "u1"));
        for (const backend of backends) await backend.close();
        backends = [];

        const reopened = await opened.reopen!();
        backends.push(reopened);
        const again = reopened.identityStore();
        expect(await again.getUserByUsername("alice")).toEqual(user("u1", "Alice", { did: "did:key:zA", roles: ["admin"] }));
        expect((await again.listRoles()).map((role) => role.name)).toEqual(["ops"]);
        expect(await again.getSession("s1")).toMatchObject({ refreshHash: hash("r1"), generation: 1 });
        expect(await again.consumeTotpStep("u1", 42)).toBe(false);
        expect(await again.countRecoveryCodes("u1")).toBe(1);
        expect(await again.getPasskey("k1")).toMatchObject({ counter: 3, transports: ["usb"] });
        expect(await again.takeChallenge("c1", "sso_state", at())).not.toBeNull();
        expect(await again.listSecurityEvents({ limit: 10 })).toEqual([logged]);
        // Sequence numbers keep increasing after a restart.
        expect((await again.appendSecurityEvent(event("sign_in", "u1"))).seq).toBeGreaterThan(logged.seq);
      });
    }
  });
}
