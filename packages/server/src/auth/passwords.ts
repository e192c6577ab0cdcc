/**
 * @module auth/passwords
 * Password hashing with argon2id (the `argon2` package, a binding of the reference implementation), stored as a
 * PHC string so that the cost travels with each hash: a changed cost applies to new hashes at once and to old
 * ones at their next sign-in (`needsRehash`). An unknown username still pays one verification against a dummy
 * hash of the same cost, so the time of a refusal does not tell which usernames exist.
 */
import { randomBytes } from "node:crypto";
import argon2 from "argon2";

export interface PasswordCost {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export class PasswordHasher {
  private dummy: Promise<string> | null = null;
  private verified = 0;

  constructor(private readonly cost: PasswordCost) {}

  /** How many verifications this hasher ran (real and dummy): tests check that every refusal pays one. */
  get verifications(): number {
    return this.verified;
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, memoryCost: this.cost.memoryKiB, timeCost: this.cost.iterations, parallelism: this.cost.parallelism });
  }

  /** True when `password` matches `hash`; false for a mismatch and for a hash that is not a valid PHC string. */
  async verify(hash: string, password: string): Promise<boolean> {
    this.verified++;
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Pays one verification at the configured cost and answers false: the path of an unknown user or one without a password. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash(randomBytes(32).toString("base64url"));
    await this.verify(await this.dummy, password);
    return false;
  }

  /** True when the hash was made with another algorithm or cost than the configured one. */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, { memoryCost: this.cost.memoryKiB, timeCost: this.cost.iterations, parallelism: this.cost.parallelism }) || !hash.startsWith("$argon2id$");
    } catch {
      return true;
    }
  }
}
