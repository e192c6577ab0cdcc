/**
 * @module storage/copy/identity-inventory
 * The sign-in part of a backend's inventory (inventory.ts), read through `IdentityStore` only: users, custom
 * roles, sessions (revoked ones too), TOTP factors, unused recovery codes, passkeys and the security log, each
 * counted and fingerprinted (content-digest.ts). Sessions and factors are found through their users: the
 * contract lists them per user. Security events are compared without their `seq`, which each database assigns
 * itself, but in their order. One-time challenges are not counted: the copy does not carry them (they expire
 * within minutes, and a sign-in half-way through a copy of a stopped node cannot go on anyway).
 */
import type { IdentityStore, SecurityEventRow } from "../contracts/identity-store.js";
import { byKey, digestOf } from "./content-digest.js";

/** Security events per page. */
const PAGE = 1000;

export interface IdentityInventory {
  users: number;
  roles: number;
  sessions: number;
  revokedSessions: number;
  totpFactors: number;
  /** Unused ones (a used code can never be used again, and the copy leaves it behind). */
  recoveryCodes: number;
  passkeys: number;
  securityEvents: number;
  digests: Record<IdentityDigestKind, string>;
}

export type IdentityDigestKind = "users" | "roles" | "sessions" | "totp" | "passkeys" | "securityEvents";

/** Every security event, oldest first. */
export async function allSecurityEvents(store: IdentityStore): Promise<SecurityEventRow[]> {
  const newestFirst: SecurityEventRow[] = [];
  for (let before: number | undefined; ; ) {
    const page = await store.listSecurityEvents({ limit: PAGE, ...(before !== undefined ? { before } : {}) });
    newestFirst.push(...page);
    if (page.length < PAGE) break;
    before = page.at(-1)!.seq;
  }
  return newestFirst.reverse();
}

export async function takeIdentityInventory(store: IdentityStore): Promise<IdentityInventory> {
  const users = (await store.listUsers()).sort(byKey((user) => user.id));
  const roles = await store.listRoles();
  const sessions = [];
  const totp = [];
  const passkeys = [];
  let recoveryCodes = 0;
  for (const user of users) {
    sessions.push(...(await store.listSessions(user.id)));
    const factor = await store.getTotp(user.id);
    if (factor) totp.push(factor);
    passkeys.push(...(await store.listPasskeys(user.id)));
    recoveryCodes += await store.countRecoveryCodes(user.id);
  }
  sessions.sort(byKey((session) => session.id));
  passkeys.sort(byKey((passkey) => passkey.id));
  const events = await allSecurityEvents(store);
  return {
    users: users.length,
    roles: roles.length,
    sessions: sessions.length,
    revokedSessions: sessions.filter((session) => session.revokedAt !== null).length,
    totpFactors: totp.length,
    recoveryCodes,
    passkeys: passkeys.length,
    securityEvents: events.length,
    digests: {
      users: digestOf(users),
      roles: digestOf(roles),
      sessions: digestOf(sessions),
      totp: digestOf(totp),
      passkeys: digestOf(passkeys),
      securityEvents: digestOf(events.map(({ seq: _seq, ...event }) => event)),
    },
  };
}

/** What of sign-in makes a target "not empty", as `[kind, count]` pairs. */
export function identityContents(inventory: IdentityInventory): Array<[string, number]> {
  return [
    ["users", inventory.users],
    ["roles", inventory.roles],
    ["sessions", inventory.sessions],
    ["TOTP factors", inventory.totpFactors],
    ["recovery codes", inventory.recoveryCodes],
    ["passkeys", inventory.passkeys],
    ["security events", inventory.securityEvents],
  ];
}
