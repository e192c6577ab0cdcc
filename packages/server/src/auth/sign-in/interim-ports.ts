/**
 * @module auth/sign-in/interim-ports
 * Honest stand-ins for ports whose parts are not wired: no second factor is enrolled anywhere (so none is asked
 * for, and none can be presented), and no throttling (every attempt still pays a full argon2id verification).
 * The composition root replaces each with the real part (auth/mfa, auth/throttle) when it is there.
 */
import type { LoginThrottle, SecondFactors } from "../sign-in-ports.js";

export const NO_SECOND_FACTORS: SecondFactors = {
  required: async () => ({ enrolled: [], mustEnrol: false }),
  verify: async () => false,
};

export const NO_THROTTLE: LoginThrottle = {
  check: async () => undefined,
  failed: async () => undefined,
  succeeded: async () => undefined,
};
