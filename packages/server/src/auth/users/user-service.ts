/**
 * @module auth/users/user-service
 * Users: create, change (roles, state, display name, a password reset), delete, list, and what a user changes
 * about themselves (profile, preferences, password). Role changes revoke nothing but apply at once: the access
 * table caps every token by the user's current roles. Disabling or deleting a user ends their sessions; a password
 * change ends every other session. Every change is a security event; the last active admin cannot be removed
 * (the admin token still works, but a node should not lose its last person who can manage it by accident).
 */
import type { CreateUserRequest, UpdateProfileRequest, UpdateUserRequest, User, UserPreferences } from "@kai/protocol";
import { UserPreferencesSchema } from "@kai/protocol";
import { IdentityConflict, type IdentityStore, type UserPatch, type UserRow } from "../../storage/contracts/identity-store.js";
import type { PasswordHasher } from "../passwords.js";
import type { RoleCatalog } from "../roles.js";
import type { AccessTable } from "./access-table.js";
import { newUserRow } from "./new-user-row.js";
import type { SessionService } from "../sessions/session-service.js";
import type { SecurityLog } from "../security-log.js";
import { ApiError, conflict, notFound } from "../../errors.js";

export interface UserServiceOptions {
  store: IdentityStore;
  hasher: PasswordHasher;
  roles: RoleCatalog;
  access: AccessTable;
  sessions: SessionService;
  log: SecurityLog;
  /** Told after a user's password changed (the first admin's one-time password file is deleted then). */
  onPasswordChanged?: (user: UserRow) => void;
  now?: () => number;
}

/** Who makes a change: an admin's or the user's owner name, `system`; and from where. */
export interface Actor {
  name: string;
  address?: string | null;
}

export class UserService {
  private readonly now: () => number;

  constructor(private readonly options: UserServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  async create(input: CreateUserRequest, actor: Actor): Promise<UserRow> {
    this.checkRoles(input.roles);
    if (input.kind === "agent" && (input.password !== undefined || !input.did)) throw invalid("did", "an agent signs in with its KLP DID and has no password");
    if (input.kind === "person" && input.did !== undefined) throw invalid("did", "only agents have a did");
    const row = newUserRow({
      username: input.username,
      kind: input.kind,
      displayName: input.displayName ?? null,
      passwordHash: input.password !== undefined ? await this.options.hasher.hash(input.password) : null,
      did: input.did ?? null,
      roles: input.roles,
      mustChangePassword: input.mustChangePassword ?? false,
    }, this.iso());
    await this.insert(row);
    await this.options.log.record({ type: "user_created", outcome: "success", userId: row.id, username: row.username, actor: actor.name, address: actor.address ?? null, details: { kind: row.kind, roles: row.roles } });
    return row;
  }

  /** Inserts a row made elsewhere (the first admin, single sign-on's first sign-in); `conflict` when the name is taken. */
  async insert(row: UserRow): Promise<void> {
    try {
      await this.options.store.insertUser(row);
    } catch (error) {
      if (error instanceof IdentityConflict) throw conflict(`a user with this ${error.field} already exists`);
      throw error;
    }
    await this.options.access.userChanged(row.id, row);
  }

  async get(id: string): Promise<UserRow> {
    const row = await this.options.store.getUser(id);
    if (!row) throw notFound("user");
    return row;
  }

  /**
   * A user named by id or username, as the admin routes take them: the id first, then the username
   * (case-insensitively). Ids are UUIDs, so a username is only shadowed by the user whose id it is.
   */
  async find(idOrUsername: string): Promise<UserRow> {
    const row = (await this.options.store.getUser(idOrUsername)) ?? (await this.options.store.getUserByUsername(idOrUsername));
    if (!row) throw notFound("user");
    return row;
  }

  async list(): Promise<UserRow[]> {
    return this.options.store.listUsers();
  }

  /** An admin's change to a user. */
  async update(id: string, input: UpdateUserRequest, actor: Actor): Promise<UserRow> {
    const before = await this.get(id);
    if (input.roles) this.checkRoles(input.roles);
    const patch: UserPatch = {};
    if (input.displayName !== undefined) patch.displayName = input.displayName;
    if (input.roles) patch.roles = [...new Set(input.roles)];
    if (input.state) patch.state = input.state;
    if (input.password !== undefined) {
      if (before.kind === "agent") throw invalid("password", "agents have no password");
      patch.passwordHash = await this.options.hasher.hash(input.password);
      patch.passwordChangedAt = this.iso();
      patch.mustChangePassword = input.mustChangePassword ?? true;
    } else if (input.mustChangePassword !== undefined) {
      patch.mustChangePassword = input.mustChangePassword;
    }
    const losesAdmin = (patch.roles && !patch.roles.includes("admin")) || patch.state === "disabled";
    if (losesAdmin) await this.keepAnAdmin(before);
    const after = await this.patch(id, patch);
    const by = { actor: actor.name, address: actor.address ?? null };
    if (patch.roles && !sameSet(before.roles, after.roles)) {
      await this.options.log.record({ type: "role_changed", outcome: "success", userId: id, username: after.username, ...by, details: { before: before.roles, after: after.roles } });
    }
    if (patch.state && patch.state !== before.state) {
      await this.options.log.record({ type: patch.state === "disabled" ? "user_disabled" : "user_enabled", outcome: "success", userId: id, username: after.username, ...by, details: {} });
      if (patch.state === "disabled") await this.options.sessions.revokeUser(after, { actor: actor.name, reason: "user_disabled" });
    }
    if (patch.passwordHash) {
      await this.options.log.record({ type: "password_reset", outcome: "success", userId: id, username: after.username, ...by, details: { mustChangePassword: after.mustChangePassword } });
      await this.options.sessions.revokeUser(after, { actor: actor.name, reason: "password_changed" });
    }
    return after;
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const before = await this.get(id);
    await this.keepAnAdmin(before);
    // Sessions first: each one's revocation reaches the other instances before the user disappears.
    await this.options.sessions.revokeUser(before, { actor: actor.name, reason: "user_deleted" });
    if (!(await this.options.store.deleteUser(id))) throw notFound("user");
    await this.options.access.userChanged(id, null);
    await this.options.log.record({ type: "user_deleted", outcome: "success", userId: id, username: before.username, actor: actor.name, address: actor.address ?? null, details: {} });
  }

  /** What a user changes about themselves. */
  async updateProfile(id: string, input: UpdateProfileRequest): Promise<UserRow> {
    const before = await this.get(id);
    const patch: UserPatch = {};
    if (input.displayName !== undefined) patch.displayName = input.displayName;
    if (input.preferences) patch.preferences = { ...UserPreferencesSchema.parse(before.preferences), ...input.preferences };
    return this.patch(id, patch);
  }

  /** A user changes their own password (knowing the current one): every other session ends. */
  async changePassword(id: string, current: string, next: string, actor: Actor, keepSessionId?: string): Promise<UserRow> {
    const user = await this.get(id);
    const ok = user.passwordHash ? await this.options.hasher.verify(user.passwordHash, current) : await this.options.hasher.verifyDummy(current);
    if (!ok) {
      await this.options.log.record({ type: "password_change_failed", outcome: "failure", userId: id, username: user.username, actor: actor.name, address: actor.address ?? null, details: {} });
      throw new ApiError("invalid_credentials", "the current password is wrong");
    }
    return this.setPassword(user, next, actor, keepSessionId);
  }

  /**
   * Sets a new password the user chose (after proving the old one, or with a one-time password at sign-in); clears
   * `mustChangePassword`, ends every other session.
   */
  async setPassword(user: UserRow, next: string, actor: Actor, keepSessionId?: string): Promise<UserRow> {
    if (user.kind !== "person") throw invalid("newPassword", "agents have no password");
    if (user.passwordHash && (await this.options.hasher.verify(user.passwordHash, next))) throw invalid("newPassword", "must differ from the current password");
    const after = await this.patch(user.id, { passwordHash: await this.options.hasher.hash(next), passwordChangedAt: this.iso(), mustChangePassword: false });
    await this.options.log.record({ type: "password_changed", outcome: "success", userId: user.id, username: user.username, actor: actor.name, address: actor.address ?? null, details: {} });
    await this.options.sessions.revokeUser(after, { actor: actor.name, reason: "password_changed", address: actor.address ?? null }, keepSessionId);
    this.options.onPasswordChanged?.(after);
    return after;
  }

  /** Replaces a hash made at an older cost (at sign-in, when the password is at hand). */
  async rehash(user: UserRow, password: string): Promise<void> {
    if (user.passwordHash && this.options.hasher.needsRehash(user.passwordHash)) await this.options.store.updateUser(user.id, { passwordHash: await this.options.hasher.hash(password) });
  }

  /** The API shape of a user: scopes resolved, sign-in methods listed. */
  async toUser(row: UserRow): Promise<User> {
    const store = this.options.store;
    const [totp, passkeys, recovery] = row.kind === "person" ? await Promise.all([store.getTotp(row.id), store.listPasskeys(row.id), store.countRecoveryCodes(row.id)]) : [null, [], 0];
    const methods: User["methods"] = [];
    if (row.passwordHash) methods.push("password");
    if (totp?.confirmed) methods.push("totp");
    if (passkeys.length > 0) methods.push("passkey");
    if (recovery > 0) methods.push("recovery_codes");
    if (row.ssoSubject) methods.push("sso");
    if (row.did) methods.push("agent_key");
    const preferences = UserPreferencesSchema.safeParse(row.preferences);
    return {
      id: row.id,
      username: row.username,
      kind: row.kind,
      displayName: row.displayName,
      state: row.state,
      roles: row.roles,
      scopes: this.options.roles.scopesOf(row.roles),
      did: row.did,
      methods,
      mustChangePassword: row.mustChangePassword,
      preferences: preferences.success ? preferences.data : ({} as UserPreferences),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      lastSignInAt: row.lastSignInAt,
    };
  }

  /** Usernames of the users holding a role (a custom role cannot be deleted while held). */
  async holdersOf(role: string): Promise<string[]> {
    return (await this.options.store.listUsers()).filter((user) => user.roles.includes(role)).map((user) => user.username);
  }

  private async patch(id: string, patch: UserPatch): Promise<UserRow> {
    let after: UserRow | null;
    try {
      after = await this.options.store.updateUser(id, { ...patch, updatedAt: this.iso() });
    } catch (error) {
      if (error instanceof IdentityConflict) throw conflict(`a user with this ${error.field} already exists`);
      throw error;
    }
    if (!after) throw notFound("user");
    await this.options.access.userChanged(id, after);
    return after;
  }

  private checkRoles(roles: readonly string[]): void {
    const unknown = roles.filter((role) => !this.options.roles.exists(role));
    if (unknown.length > 0) throw invalid("roles", `unknown role(s): ${unknown.join(", ")}`);
  }

  /** Refuses a change that would leave no active person with the admin role. */
  private async keepAnAdmin(target: UserRow): Promise<void> {
    if (!target.roles.includes("admin") || target.state !== "active") return;
    const others = (await this.options.store.listUsers()).filter((user) => user.id !== target.id && user.state === "active" && user.roles.includes("admin"));
    if (others.length === 0) throw conflict("this is the last active admin: make another user admin first");
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

const invalid = (path: string, message: string) => new ApiError("validation_failed", `invalid ${path}`, [{ path, message }]);

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
