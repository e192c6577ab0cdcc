/**
 * @module auth/mfa/second-factors
 * The `SecondFactors` port (auth/sign-in-ports.ts) the password login calls: what a user has enrolled, whether
 * their roles make a factor mandatory (`auth.mfa.requiredRoles`), and the check of what they presented — a TOTP
 * code, a recovery code or a passkey assertion, each consumed when it succeeds (a code's time step, the recovery
 * code, the challenge). The same check guards changes to a user's factors (step-up, mfa-service.ts).
 * Recovery codes count as enrolled only beside a real factor (TOTP or a passkey): they are its fallback, not a
 * factor of their own.
 */
import type { UserRow } from "../../storage/contracts/identity-store.js";
import type { SecurityLog } from "../security-log.js";
import type { PresentedSecondFactor, SecondFactorKind, SecondFactors } from "../sign-in-ports.js";
import type { PasskeyFactor } from "./passkey-factor.js";
import type { RecoveryCodes } from "./recovery-codes.js";
import type { TotpFactor } from "./totp-factor.js";

export interface SecondFactorsDeps {
  totp: TotpFactor;
  recoveryCodes: RecoveryCodes;
  passkeys: PasskeyFactor;
  securityLog: Pick<SecurityLog, "record">;
  /** `auth.mfa.requiredRoles`. */
  requiredRoles: readonly string[];
}

/** The factors of a user in the order they are checked, and whether any real (non-recovery) factor is among them. */
export async function enrolledFactors(deps: Pick<SecondFactorsDeps, "totp" | "recoveryCodes" | "passkeys">, userId: string): Promise<SecondFactorKind[]> {
  const [totp, passkeys, codesLeft] = await Promise.all([deps.totp.status(userId), deps.passkeys.list(userId), deps.recoveryCodes.remaining(userId)]);
  const enrolled: SecondFactorKind[] = [];
  if (totp.confirmed) enrolled.push("totp");
  if (passkeys.length > 0) enrolled.push("passkey");
  if (enrolled.length > 0 && codesLeft > 0) enrolled.push("recovery_codes");
  return enrolled;
}

/** Whether one of the user's roles is in `requiredRoles` (agents sign in with keys: never). */
export function factorRequired(user: Pick<UserRow, "kind" | "roles">, requiredRoles: readonly string[]): boolean {
  return user.kind === "person" && user.roles.some((role) => requiredRoles.includes(role));
}

export function createSecondFactors(deps: SecondFactorsDeps): SecondFactors {
  const failed = (user: UserRow, method: string, reason: string) =>
    deps.securityLog.record({ type: "mfa_failed", outcome: "failure", userId: user.id, username: user.username, details: { method, reason } });

  return {
    async required(user) {
      const enrolled = await enrolledFactors(deps, user.id);
      return { enrolled, mustEnrol: enrolled.length === 0 && factorRequired(user, deps.requiredRoles) };
    },

    async verify(user, presented: PresentedSecondFactor) {
      const given = [presented.code, presented.recoveryCode, presented.passkey].filter((value) => value !== undefined).length;
      // One factor at a time: a wrong code beside a right recovery code is not "some factor was right".
      if (given !== 1) {
        await failed(user, "none", given === 0 ? "missing" : "several");
        return false;
      }
      if (presented.code !== undefined) {
        const result = await deps.totp.verify(user.id, presented.code);
        if (result === "ok") return true;
        await failed(user, "totp", result);
        return false;
      }
      if (presented.recoveryCode !== undefined) {
        // Only beside a real factor (see the module header): a leftover code of a removed TOTP does not sign in.
        const enrolled = await enrolledFactors(deps, user.id);
        if (enrolled.includes("recovery_codes") && (await deps.recoveryCodes.consume(user.id, presented.recoveryCode))) {
          const remaining = await deps.recoveryCodes.remaining(user.id);
          await deps.securityLog.record({ type: "mfa_recovery_used", outcome: "success", userId: user.id, username: user.username, details: { method: "recovery_codes", remaining } });
          return true;
        }
        await failed(user, "recovery_codes", "wrong");
        return false;
      }
      const passkey = presented.passkey!;
      const result = await deps.passkeys.authenticate(passkey.challengeId, passkey.response, { userId: user.id, requireUserVerification: false });
      if (result.ok) return true;
      await failed(user, "passkey", result.reason);
      return false;
    },
  };
}
