/**
 * @module auth/mfa/mfa-service
 * What the MFA routes do for a signed-in user (enrol and remove TOTP, passkeys, recovery codes), an admin's reset of
 * a user's factors, and passwordless passkey sign-in. Every change is a security event.
 *
 * Step-up: once a user has a factor, any change to their factors needs one of them presented again (`proof`, the
 * same fields as the login's second factor). A stolen session alone therefore cannot add the thief's passkey or
 * authenticator, print new recovery codes, or remove the user's factors. Wrong proofs count in the login throttle
 * (per username and address), so codes cannot be guessed through these routes either.
 * A user whose role requires a factor cannot remove their last one (they add another first, or an admin resets).
 */
import type { MfaStatus, SecondFactorProof, Passkey } from "@kai/protocol";
import type { IdentityStore, PasskeyRow, UserRow } from "../../storage/contracts/identity-store.js";
import { ApiError, conflict, forbidden, notFound } from "../../errors.js";
import type { SecurityLog } from "../security-log.js";
import type { LoginThrottle, SecondFactors } from "../sign-in-ports.js";
import type { PasskeyFactor } from "./passkey-factor.js";
import type { RecoveryCodes } from "./recovery-codes.js";
import { enrolledFactors, factorRequired } from "./second-factors.js";
import type { TotpEnrolment, TotpFactor } from "./totp-factor.js";

export interface MfaServiceDeps {
  store: Pick<IdentityStore, "getUser">;
  totp: TotpFactor;
  recoveryCodes: RecoveryCodes;
  passkeys: PasskeyFactor;
  secondFactors: SecondFactors;
  securityLog: Pick<SecurityLog, "record">;
  requiredRoles: readonly string[];
  /** Counts wrong step-up proofs (TIERS's login throttle); without it they are only rate-limited per token. */
  throttle?: LoginThrottle;
}

/** Who asked, for the security log. */
export interface MfaContext {
  address: string | null;
  /** Set when someone else acts on the user (an admin's username). */
  actor?: string | null;
}

export class MfaService {
  constructor(private readonly deps: MfaServiceDeps) {}

  /** The user a signed-in request belongs to, or null when they were deleted. */
  user(id: string): Promise<UserRow | null> {
    return this.deps.store.getUser(id);
  }

  async status(user: UserRow): Promise<MfaStatus> {
    const [enrolled, totp, passkeys, recoveryCodesLeft] = await Promise.all([
      enrolledFactors(this.deps, user.id),
      this.deps.totp.status(user.id),
      this.deps.passkeys.list(user.id),
      this.deps.recoveryCodes.remaining(user.id),
    ]);
    const required = factorRequired(user, this.deps.requiredRoles);
    return { enrolled, totp, passkeys: passkeys.length, recoveryCodesLeft, required, mustEnrol: required && enrolled.length === 0 };
  }

  async beginTotp(user: UserRow, proof: SecondFactorProof | undefined, context: MfaContext): Promise<TotpEnrolment> {
    if ((await this.deps.totp.status(user.id)).confirmed) throw conflict("TOTP is already enabled: disable it first to enrol a new authenticator");
    await this.stepUp(user, proof, context);
    const enrolment = await this.deps.totp.begin(user);
    await this.event(user, context, "mfa_enrolment_started", { method: "totp" });
    return enrolment;
  }

  /** Confirms TOTP with its first code; new recovery codes when the user had none. */
  async confirmTotp(user: UserRow, code: string, context: MfaContext): Promise<{ recoveryCodes?: string[] }> {
    if (!(await this.deps.totp.confirm(user.id, code))) {
      await this.event(user, context, "mfa_enrol_failed", { method: "totp" }, "failure");
      const message = "the code does not match the pending TOTP enrolment (check the device's clock, or start again)";
      throw new ApiError("validation_failed", message, [{ path: "code", message }]);
    }
    await this.event(user, context, "mfa_enrolled", { method: "totp" });
    return this.firstRecoveryCodes(user, context);
  }

  async disableTotp(user: UserRow, proof: SecondFactorProof, context: MfaContext): Promise<void> {
    const totp = await this.deps.totp.status(user.id);
    if (!totp.confirmed && !totp.pending) throw notFound("TOTP enrolment");
    await this.stepUp(user, proof, context);
    await this.keepRequiredFactor(user, "totp");
    await this.deps.totp.remove(user.id);
    await this.event(user, context, "mfa_removed", { method: "totp" });
    await this.dropOrphanedRecoveryCodes(user);
  }

  async regenerateRecoveryCodes(user: UserRow, proof: SecondFactorProof, context: MfaContext): Promise<string[]> {
    const enrolled = await enrolledFactors(this.deps, user.id);
    if (!enrolled.includes("totp") && !enrolled.includes("passkey")) {
      throw new ApiError("conflict", "recovery codes back up a second factor: enrol TOTP or a passkey first");
    }
    await this.stepUp(user, proof, context);
    const codes = await this.deps.recoveryCodes.regenerate(user.id);
    await this.event(user, context, "mfa_recovery_regenerated", { method: "recovery_codes" });
    return codes;
  }

  async passkeyRegistrationOptions(user: UserRow, proof: SecondFactorProof | undefined, context: MfaContext) {
    await this.stepUp(user, proof, context);
    return this.deps.passkeys.registrationOptions(user);
  }

  async registerPasskey(user: UserRow, challengeId: string, response: Record<string, unknown>, name: string | null, context: MfaContext): Promise<{ passkey: Passkey; recoveryCodes?: string[] }> {
    const row = await this.deps.passkeys.register(user.id, challengeId, response, name);
    await this.event(user, context, "mfa_enrolled", { method: "passkey", credentialId: row.id, synced: row.backedUp });
    return { passkey: passkeyView(row), ...(await this.firstRecoveryCodes(user, context)) };
  }

  async listPasskeys(user: UserRow): Promise<Passkey[]> {
    return (await this.deps.passkeys.list(user.id)).map(passkeyView);
  }

  async deletePasskey(user: UserRow, id: string, proof: SecondFactorProof, context: MfaContext): Promise<void> {
    const passkeys = await this.deps.passkeys.list(user.id);
    if (!passkeys.some((passkey) => passkey.id === id)) throw notFound("passkey");
    await this.stepUp(user, proof, context);
    if (passkeys.length === 1) await this.keepRequiredFactor(user, "passkey");
    if (!(await this.deps.passkeys.remove(user.id, id))) throw notFound("passkey");
    await this.event(user, context, "mfa_removed", { method: "passkey", credentialId: id });
    await this.dropOrphanedRecoveryCodes(user);
  }

  /** An admin removes every factor of a user (a lost device and no recovery codes). */
  async reset(userId: string, context: MfaContext): Promise<void> {
    const user = await this.deps.store.getUser(userId);
    if (!user) throw notFound("user");
    await this.deps.totp.remove(user.id);
    for (const passkey of await this.deps.passkeys.list(user.id)) await this.deps.passkeys.remove(user.id, passkey.id);
    await this.deps.recoveryCodes.clear(user.id);
    await this.event(user, context, "mfa_reset", {});
  }

  passkeySignInOptions() {
    return this.deps.passkeys.signInOptions();
  }

  /**
   * Passwordless sign-in: the user whose passkey answered the challenge (with user verification). Throws
   * `invalid_credentials` for any refusal (which one is in the security log, not the answer), `account_disabled`
   * for a disabled user.
   */
  async passkeySignIn(challengeId: string, response: Record<string, unknown>, context: MfaContext): Promise<UserRow> {
    const result = await this.deps.passkeys.authenticate(challengeId, response, { requireUserVerification: true });
    const user = result.ok ? await this.deps.store.getUser(result.passkey.userId) : null;
    if (!result.ok || !user || user.kind !== "person") {
      await this.deps.securityLog.record({
        type: "sign_in_failed",
        outcome: "failure",
        userId: user?.id ?? null,
        username: user?.username ?? null,
        address: context.address,
        details: { method: "passkey", reason: result.ok ? "no_user" : result.reason },
      });
      throw new ApiError("invalid_credentials", "the passkey sign-in was not accepted");
    }
    if (user.state !== "active") {
      await this.event(user, context, "sign_in_failed", { method: "passkey", reason: "disabled" }, "failure");
      throw new ApiError("account_disabled", "this account is disabled");
    }
    return user;
  }

  /** Demands a current factor when the user has one (see the module header). */
  private async stepUp(user: UserRow, proof: SecondFactorProof | undefined, context: MfaContext): Promise<void> {
    if ((await enrolledFactors(this.deps, user.id)).length === 0) return;
    if (!proof || Object.keys(proof).length === 0) {
      const message = "this change needs one of your current factors: a TOTP code, a recovery code or a passkey in `proof`";
      throw new ApiError("mfa_required", message, [{ path: "proof", message }]);
    }
    const keys = { username: user.username, address: context.address ?? "unknown" };
    await this.deps.throttle?.check(keys);
    if (!(await this.deps.secondFactors.verify(user, proof))) {
      await this.deps.throttle?.failed(keys);
      throw new ApiError("invalid_credentials", "the second factor in `proof` was not accepted");
    }
    await this.deps.throttle?.succeeded(keys);
  }

  private async keepRequiredFactor(user: UserRow, removing: "totp" | "passkey"): Promise<void> {
    if (!factorRequired(user, this.deps.requiredRoles)) return;
    const others = (await enrolledFactors(this.deps, user.id)).filter((kind) => kind !== removing && kind !== "recovery_codes");
    if (others.length === 0) throw forbidden("your role requires a second factor: add another one before removing this one (or ask an admin to reset yours)");
  }

  private async firstRecoveryCodes(user: UserRow, context: MfaContext): Promise<{ recoveryCodes?: string[] }> {
    if ((await this.deps.recoveryCodes.remaining(user.id)) > 0) return {};
    const recoveryCodes = await this.deps.recoveryCodes.regenerate(user.id);
    await this.event(user, context, "mfa_recovery_regenerated", { method: "recovery_codes" });
    return { recoveryCodes };
  }

  /** Recovery codes back up a real factor; when the last one goes, they go too. */
  private async dropOrphanedRecoveryCodes(user: UserRow): Promise<void> {
    const enrolled = await enrolledFactors(this.deps, user.id);
    if (!enrolled.includes("totp") && !enrolled.includes("passkey")) await this.deps.recoveryCodes.clear(user.id);
  }

  private async event(user: UserRow, context: MfaContext, type: string, details: Record<string, unknown>, outcome: "success" | "failure" = "success"): Promise<void> {
    await this.deps.securityLog.record({ type, outcome, userId: user.id, username: user.username, actor: context.actor ?? null, address: context.address, details });
  }
}

function passkeyView(row: PasskeyRow): Passkey {
  return { id: row.id, name: row.name, transports: row.transports, backedUp: row.backedUp, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt };
}
