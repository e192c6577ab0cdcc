/**
 * @module auth/users/first-admin
 * The first admin: on a start with no users at all, the node creates user `admin` (role admin) with a random
 * one-time password written to `<dataDir>/first-admin.password` (mode 0600) and logs only the file's path. The
 * first sign-in must choose a new password (`mustChangePassword`), and the file is deleted then. There is never a
 * default password: until someone reads that file, nobody can sign in as a person (the admin token works as
 * before). Instances racing on an empty database create one admin (the username is unique); only the winner writes
 * its file. A lost password is reset through the API with the admin token (`kai users reset-password`).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IdentityStore, UserRow } from "../../storage/contracts/identity-store.js";
import type { PasswordHasher } from "../passwords.js";
import type { UserService } from "./user-service.js";
import { newUserRow } from "./new-user-row.js";
import type { SecurityLog } from "../security-log.js";
import { ApiError } from "../../errors.js";

export const FIRST_ADMIN_FILE = "first-admin.password";

export interface FirstAdminOptions {
  dataDir: string;
  username: string;
  enabled: boolean;
  store: Pick<IdentityStore, "countUsers" | "getUserByUsername">;
  hasher: PasswordHasher;
  users: UserService;
  log: SecurityLog;
  logger: { info(obj: object, msg?: string): void };
}

export class FirstAdmin {
  constructor(private readonly options: FirstAdminOptions) {}

  get path(): string {
    return join(this.options.dataDir, FIRST_ADMIN_FILE);
  }

  /** Creates the first admin when there are no users; deletes a stale file once its password was changed. */
  async ensure(): Promise<{ created: boolean; path: string | null }> {
    const { store, username } = this.options;
    if (existsSync(this.path)) {
      const user = await store.getUserByUsername(username);
      if (!user || !user.mustChangePassword) rmSync(this.path, { force: true });
    }
    if (!this.options.enabled || (await store.countUsers()) > 0) return { created: false, path: existsSync(this.path) ? this.path : null };
    // 144 random bits, typed once: long enough that guessing is hopeless, short enough to copy.
    const password = randomBytes(18).toString("base64url");
    const row = newUserRow({ username, kind: "person", displayName: "Administrator", passwordHash: await this.options.hasher.hash(password), roles: ["admin"], mustChangePassword: true }, new Date().toISOString());
    try {
      await this.options.users.insert(row);
    } catch (error) {
      // Another instance created it first: that one's data directory holds the file.
      if (error instanceof ApiError && error.code === "conflict") return { created: false, path: null };
      throw error;
    }
    writeFileSync(this.path, `${password}\n`, { mode: 0o600 });
    chmodSync(this.path, 0o600);
    await this.options.log.record({ type: "user_created", outcome: "success", userId: row.id, username, actor: "system", details: { kind: "person", roles: ["admin"], firstAdmin: true } });
    this.options.logger.info({ username, path: this.path }, "first admin created: sign in with the one-time password in this file (you will choose a new one)");
    return { created: true, path: this.path };
  }

}

/** After any password change: the first admin's one-time password is useless from then on, and its file is removed. */
export function removeFirstAdminFile(dataDir: string, firstAdminUsername: string, user: Pick<UserRow, "username">): void {
  if (user.username.toLowerCase() === firstAdminUsername.toLowerCase()) rmSync(join(dataDir, FIRST_ADMIN_FILE), { force: true });
}
