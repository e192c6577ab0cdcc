/**
 * @module auth/mfa/create-mfa
 * Builds the second-factor parts from their dependencies, for the composition root (server.ts): the factors, the
 * `SecondFactors` port the password login uses, and the service behind the MFA and passkey sign-in routes.
 * `sealKey` (32 bytes) seals TOTP secrets; the composition root derives it from the node key (HKDF, info
 * `kai mfa totp seal v1`), so every instance of a node opens what another sealed, and changing the node key makes
 * enrolled TOTP secrets unreadable (their users enrol again, or use a recovery code or passkey).
 */
import type { IdentityStore } from "../../storage/contracts/identity-store.js";
import type { MfaConfig } from "../../config/mfa-config.js";
import type { SecurityLog } from "../security-log.js";
import type { LoginThrottle, SecondFactors } from "../sign-in-ports.js";
import { MfaService } from "./mfa-service.js";
import { PasskeyFactor } from "./passkey-factor.js";
import { RecoveryCodes } from "./recovery-codes.js";
import { createSecondFactors } from "./second-factors.js";
import { createSecretSealer } from "./secret-sealer.js";
import { TotpFactor } from "./totp-factor.js";
import { resolveWebAuthnSettings } from "./webauthn-settings.js";

export interface MfaDeps {
  store: IdentityStore;
  securityLog: Pick<SecurityLog, "record">;
  /** `config.auth.mfa`. */
  config: MfaConfig;
  /** `config.server.host` and the port the server listens on (asked once the first passkey call comes). */
  server: { host: string; port: () => number };
  /**
   * 32 bytes that seal TOTP secrets (see the module header), or a function giving them when first needed (it may
   * throw `vault_locked` while the node key is sealed: only TOTP waits for it, passkeys work meanwhile).
   */
  sealKey: Buffer | (() => Buffer);
  throttle?: LoginThrottle;
  now?: () => number;
}

export interface Mfa {
  secondFactors: SecondFactors;
  service: MfaService;
}

export function createMfa(deps: MfaDeps): Mfa {
  const now = deps.now ?? Date.now;
  const totp = new TotpFactor(deps.store, createSecretSealer(deps.sealKey), deps.config.totp.issuer, now);
  const recoveryCodes = new RecoveryCodes(deps.store, now);
  const passkeys = new PasskeyFactor(deps.store, resolveWebAuthnSettings(deps.config.webauthn, deps.server), now);
  const requiredRoles = deps.config.requiredRoles;
  const secondFactors = createSecondFactors({ totp, recoveryCodes, passkeys, securityLog: deps.securityLog, requiredRoles });
  const service = new MfaService({ store: deps.store, totp, recoveryCodes, passkeys, secondFactors, securityLog: deps.securityLog, requiredRoles, ...(deps.throttle ? { throttle: deps.throttle } : {}) });
  return { secondFactors, service };
}
