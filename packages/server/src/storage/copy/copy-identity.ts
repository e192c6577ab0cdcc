/**
 * @module storage/copy/copy-identity
 * Copies sign-in's store (contracts/identity-store.ts): custom roles, users, and per user their sessions (revoked
 * ones too, for the record; live ones keep working, as the node key and so the access tokens come along), TOTP
 * factor (with its last accepted step, so a code used on the source cannot be replayed on the target), unused
 * recovery codes (source-recovery-codes.ts) and passkeys (with their counters), then the security log oldest
 * first, so the target's sequence keeps the order. One-time challenges are not copied: they expire within minutes.
 */
import type { IdentityStore } from "../contracts/identity-store.js";
import type { Progress } from "./copy-node.js";
import { allSecurityEvents } from "./identity-inventory.js";
import type { SourceRecoveryCodes } from "./source-recovery-codes.js";

export interface IdentityCopied {
  users: number;
  sessions: number;
  securityEvents: number;
}

export async function copyIdentity(
  source: IdentityStore,
  target: IdentityStore,
  recoveryCodes: Map<string, SourceRecoveryCodes>,
  progress: Progress,
): Promise<IdentityCopied> {
  const roles = await source.listRoles();
  for (const role of roles) await target.upsertRole(role);

  const users = await source.listUsers();
  let sessions = 0;
  for (const user of users) {
    await target.insertUser(user);
    for (const session of await source.listSessions(user.id)) {
      await target.insertSession(session);
      sessions++;
    }
    const totp = await source.getTotp(user.id);
    if (totp) await target.putTotp(totp);
    const codes = recoveryCodes.get(user.id);
    if (codes) await target.replaceRecoveryCodes(user.id, codes.codeHashes, codes.createdAt);
    for (const passkey of await source.listPasskeys(user.id)) await target.insertPasskey(passkey);
  }
  progress(`sign-in: ${roles.length} custom roles, ${users.length} users with ${sessions} sessions and their factors copied`);

  const events = await allSecurityEvents(source);
  for (const { seq: _seq, ...event } of events) await target.appendSecurityEvent(event);
  progress(`security log: ${events.length} events copied`);
  return { users: users.length, sessions, securityEvents: events.length };
}
