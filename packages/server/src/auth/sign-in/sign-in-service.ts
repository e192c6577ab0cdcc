/**
 * @module auth/sign-in/sign-in-service
 * `POST /api/auth/login`'s two variants, in the order that gives nothing away:
 * - a person: throttle check → user lookup → password verified (an unknown name, an agent or a user without a
 *   password pays one dummy verification, and every refusal is the same `invalid_credentials`) → disabled →
 *   one-time password (`password_change_required` unless `newPassword` comes along) → second factor when enrolled
 *   (`mfa_required` when none was presented) → session;
 * - an agent: throttle check → the signature over its challenge (AgentSignIn) → disabled → session.
 * Every outcome is a security event; failures count towards the throttle.
 */
import type { AgentLoginRequest, PasswordLoginRequest } from "@kai/protocol";
import type { IdentityStore, UserRow } from "../../storage/contracts/identity-store.js";
import type { PasswordHasher } from "../passwords.js";
import type { AgentSignIn, IssuedSession, LoginThrottle, PresentedSecondFactor, SecondFactors, SessionStarter, SignInClient } from "../sign-in-ports.js";
import type { SecurityLog } from "../security-log.js";
import type { UserService } from "../users/user-service.js";
import { ApiError } from "../../errors.js";

export interface SignInServiceOptions {
  store: Pick<IdentityStore, "getUserByUsername">;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  secondFactors: SecondFactors;
  sessions: SessionStarter;
  users: UserService;
  log: SecurityLog;
  agents: AgentSignIn;
}

const refused = () => new ApiError("invalid_credentials", "wrong username or password");

export class SignInService {
  constructor(private readonly options: SignInServiceOptions) {}

  async password(request: PasswordLoginRequest, client: SignInClient): Promise<IssuedSession> {
    const { throttle, hasher, log } = this.options;
    const keys = { username: request.username, address: client.address };
    await throttle.check(keys);
    const user = await this.options.store.getUserByUsername(request.username);
    const ok = user?.kind === "person" && user.passwordHash ? await hasher.verify(user.passwordHash, request.password) : await hasher.verifyDummy(request.password);
    if (!user || !ok) {
      await throttle.failed(keys);
      // The typed name is kept only when it names a user: a password typed into the name field must not be recorded.
      await log.record({ type: "sign_in_failed", outcome: "failure", userId: user?.id ?? null, username: user?.username ?? null, address: client.address, details: { method: "password", reason: user ? "wrong_password" : "unknown_user" } });
      throw refused();
    }
    if (user.state !== "active") {
      await log.record({ type: "sign_in_failed", outcome: "failure", userId: user.id, username: user.username, address: client.address, details: { method: "password", reason: "disabled" } });
      throw new ApiError("account_disabled", "this user is disabled");
    }
    if (user.mustChangePassword && request.newPassword === undefined) {
      throw new ApiError("password_change_required", "this password is a one-time password: send it again with newPassword", [{ path: "newPassword", message: "required" }]);
    }
    const factors = await this.options.secondFactors.required(user);
    let mfa = false;
    if (factors.enrolled.length > 0) {
      const presented = presentedOf(request);
      if (!presented) throw new ApiError("mfa_required", `a second factor is required (${factors.enrolled.join(", ")})`);
      if (!(await this.options.secondFactors.verify(user, presented))) {
        await throttle.failed(keys);
        await log.record({ type: "sign_in_failed", outcome: "failure", userId: user.id, username: user.username, address: client.address, details: { method: "password", reason: "second_factor" } });
        throw new ApiError("invalid_credentials", "wrong second factor");
      }
      mfa = true;
    }
    await throttle.succeeded(keys);
    let current: UserRow = user;
    if (request.newPassword !== undefined && user.mustChangePassword) {
      current = await this.options.users.setPassword(user, request.newPassword, { name: user.username, address: client.address });
    } else {
      await this.options.users.rehash(user, request.password);
    }
    return this.options.sessions.start(current, { method: "password", mfa, userAgent: client.userAgent, address: client.address });
  }

  async agent(request: AgentLoginRequest, client: SignInClient): Promise<IssuedSession> {
    const { throttle, log, agents } = this.options;
    const keys = { username: request.did, address: client.address };
    await throttle.check(keys);
    let user: UserRow;
    try {
      user = await agents.verify(request, client);
    } catch (error) {
      // The agent sign-in records the failure with its reason; here it only counts.
      if (error instanceof ApiError && error.code === "invalid_credentials") await throttle.failed(keys);
      throw error;
    }
    if (user.state !== "active") {
      await log.record({ type: "sign_in_failed", outcome: "failure", userId: user.id, username: user.username, address: client.address, details: { method: "agent_key", reason: "disabled" } });
      throw new ApiError("account_disabled", "this agent is disabled");
    }
    await throttle.succeeded(keys);
    return this.options.sessions.start(user, { method: "agent_key", mfa: false, userAgent: client.userAgent, address: client.address });
  }
}

function presentedOf(request: PasswordLoginRequest): PresentedSecondFactor | null {
  if (request.code === undefined && request.recoveryCode === undefined && request.passkey === undefined) return null;
  return {
    ...(request.code !== undefined ? { code: request.code } : {}),
    ...(request.recoveryCode !== undefined ? { recoveryCode: request.recoveryCode } : {}),
    ...(request.passkey !== undefined ? { passkey: request.passkey } : {}),
  };
}
