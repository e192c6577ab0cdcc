/**
 * @module mfa
 * `client.mfa`: the signed-in user's second factors (`/api/users/me/mfa/*`, `/api/users/me/passkeys*`) and an
 * admin's reset of another user's (`DELETE /api/users/{id}/mfa`). Once a user has a factor, changing their factors
 * needs `proof` of one (a current code, a recovery code or a passkey assertion): a stolen session alone cannot
 * change them. Secrets in answers (TOTP secret, recovery codes) are shown once by the server; the SDK keeps none.
 */
import {
  ListPasskeysResponseSchema,
  MfaStatusSchema,
  RecoveryCodesResponseSchema,
  TotpConfirmResponseSchema,
  TotpEnrolResponseSchema,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { MfaClient } from "./types.js";

const passkeyPath = (id: string) => `/api/users/me/passkeys/${encodeURIComponent(id)}`;

export function createMfaClient(http: HttpTransport): MfaClient {
  return {
    status: async () => (await http.request("GET", "/api/users/me/mfa", { schema: MfaStatusSchema })).data,
    totp: {
      enrol: async (proof) => (await http.request("POST", "/api/users/me/mfa/totp", { body: proof ? { proof } : {}, schema: TotpEnrolResponseSchema })).data,
      confirm: async (code) => (await http.request("POST", "/api/users/me/mfa/totp/confirm", { body: { code }, schema: TotpConfirmResponseSchema })).data,
      disable: async (proof) => {
        await http.request("DELETE", "/api/users/me/mfa/totp", { body: { proof } });
      },
    },
    regenerateRecoveryCodes: async (proof) =>
      (await http.request("POST", "/api/users/me/mfa/recovery-codes", { body: { proof }, schema: RecoveryCodesResponseSchema })).data.recoveryCodes,
    passkeys: {
      list: async () => (await http.request("GET", "/api/users/me/passkeys", { schema: ListPasskeysResponseSchema })).data.passkeys,
      remove: async (id, proof) => {
        await http.request("DELETE", passkeyPath(id), { body: { proof } });
      },
    },
    reset: async (userId) => {
      await http.request("DELETE", `/api/users/${encodeURIComponent(userId)}/mfa`);
    },
  };
}
