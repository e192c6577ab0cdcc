/**
 * @module passkeys
 * `client.passkeys`: the HTTP half of WebAuthn (issue 14's routes, used by the web app of issue 15). The SDK does
 * not touch `navigator.credentials` (it runs in Node too): the caller hands the options to the browser and the
 * browser's JSON answer back here. A passwordless sign-in is taken over by the client's session, like a password one.
 */
import { LoginResponseSchema, RegisterPasskeyResponseSchema, WebAuthnOptionsResponseSchema } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { SessionCredentials } from "./session.js";
import type { PasskeyClient } from "./types.js";

export function createPasskeyClient(http: HttpTransport, session: SessionCredentials): PasskeyClient {
  return {
    signInOptions: async () =>
      (await http.request("POST", "/api/auth/passkey/options", { body: {}, schema: WebAuthnOptionsResponseSchema, anonymous: true })).data,
    signIn: async (request) => {
      const response = (await http.request("POST", "/api/auth/passkey/login", { body: request, schema: LoginResponseSchema, anonymous: true })).data;
      await session.adopt(response);
      return response;
    },
    registrationOptions: async (proof) =>
      (await http.request("POST", "/api/users/me/passkeys/options", { body: proof ? { proof } : {}, schema: WebAuthnOptionsResponseSchema })).data,
    register: async (request) => (await http.request("POST", "/api/users/me/passkeys", { body: request, schema: RegisterPasskeyResponseSchema })).data,
  };
}
