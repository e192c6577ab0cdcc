/**
 * @module auth/mfa/recovery-codes
 * Recovery codes: ten single-use codes a user keeps for when their authenticator is lost. They are shown once
 * (at TOTP confirmation, at the first passkey, on regeneration) and stored as SHA-256 hashes only. Each has 80
 * random bits, so a leaked table of hashes cannot be brute-forced (a fast hash is enough at that entropy; a
 * 40-bit code would need a slow one). Written as `xxxx-xxxx-xxxx-xxxx` in Crockford's base32 (no i, l, o, u);
 * when checked, case, spaces and dashes are ignored and the look-alikes o/i/l read as 0/1/1.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IdentityStore } from "../../storage/contracts/identity-store.js";

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const CODE_CHARS = 16;

/** One fresh code, e.g. `7k2m-x9qa-…` (32 divides 256, so `byte % 32` is unbiased). */
function newCode(): string {
  const chars = [...randomBytes(CODE_CHARS)].map((byte) => ALPHABET[byte % 32]).join("");
  return chars.match(/.{4}/g)!.join("-");
}

/** The form that is hashed: lower case, separators dropped, look-alikes mapped (Crockford). */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
}

export function hashRecoveryCode(code: string): string {
  return createHash("sha256").update(normaliseRecoveryCode(code), "utf8").digest("hex");
}

export class RecoveryCodes {
  constructor(
    private readonly store: Pick<IdentityStore, "replaceRecoveryCodes" | "consumeRecoveryCode" | "countRecoveryCodes">,
    private readonly now: () => number = Date.now,
  ) {}

  /** Replaces the user's codes with ten new ones; returns them (the only time they are seen). */
  async regenerate(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    await this.store.replaceRecoveryCodes(userId, codes.map(hashRecoveryCode), this.isoNow());
    return codes;
  }

  /** Uses the code up if it is one of the user's unused codes (atomic: two racing uses, one wins). */
  consume(userId: string, code: string): Promise<boolean> {
    const normalised = normaliseRecoveryCode(code);
    if (normalised.length !== CODE_CHARS) return Promise.resolve(false);
    return this.store.consumeRecoveryCode(userId, hashRecoveryCode(normalised), this.isoNow());
  }

  remaining(userId: string): Promise<number> {
    return this.store.countRecoveryCodes(userId);
  }

  /** Removes every code (when the user's last factor goes: codes alone are not a second factor). */
  clear(userId: string): Promise<void> {
    return this.store.replaceRecoveryCodes(userId, [], this.isoNow());
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }
}
