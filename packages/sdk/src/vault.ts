/**
 * @module vault
 * `client.vault`: the credential vault's REST and transit calls as typed methods. Secret names are
 * paths (`openai/prod`); each segment is URL-encoded on its own so that the `/` stays a separator.
 * Every answer is parsed with its protocol schema.
 */
import {
  AuditListResponseSchema,
  AuditVerifyResponseSchema,
  DecryptResponseSchema,
  EncryptResponseSchema,
  ListSecretsResponseSchema,
  RotateResponseSchema,
  SecretInfoSchema,
  SecretValueResponseSchema,
  VaultStatusSchema,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { VaultClient } from "./types.js";

export const secretPath = (name: string) => `/api/vault/secrets/${name.split("/").map(encodeURIComponent).join("/")}`;

/** Only the fields that are set, so optional values are left out of the JSON body. */
function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

export function createVaultClient(http: HttpTransport): VaultClient {
  const status = VaultStatusSchema;
  return {
    status: async () => (await http.request("GET", "/api/vault/status", { schema: status })).data,
    init: async (passphrase) => (await http.request("POST", "/api/vault/init", { body: defined({ passphrase }), schema: status })).data,
    unlock: async (passphrase) => (await http.request("POST", "/api/vault/unlock", { body: defined({ passphrase }), schema: status })).data,
    lock: async () => (await http.request("POST", "/api/vault/lock", { schema: status })).data,
    rekey: async (newPassphrase) => (await http.request("POST", "/api/vault/rekey", { body: defined({ newPassphrase }), schema: status })).data,
    rotate: async () => (await http.request("POST", "/api/vault/rotate", { schema: RotateResponseSchema })).data,
    putSecret: async (name, value, options = {}) =>
      (await http.request("PUT", secretPath(name), { body: { value, ...defined(options) }, schema: SecretInfoSchema })).data,
    getSecret: async (name) => (await http.request("GET", secretPath(name), { schema: SecretValueResponseSchema })).data,
    listSecrets: async () => (await http.request("GET", "/api/vault/secrets", { schema: ListSecretsResponseSchema })).data.secrets,
    deleteSecret: async (name) => {
      await http.request("DELETE", secretPath(name));
    },
    encrypt: async (plaintext, associatedData) =>
      (await http.request("POST", "/vault/encrypt", { body: defined({ plaintext, associatedData }), schema: EncryptResponseSchema })).data,
    decrypt: async (ciphertext, associatedData) =>
      (await http.request("POST", "/vault/decrypt", { body: defined({ ciphertext, associatedData }), schema: DecryptResponseSchema })).data.plaintext,
    rewrap: async (ciphertext, associatedData) =>
      (await http.request("POST", "/vault/rewrap", { body: defined({ ciphertext, associatedData }), schema: EncryptResponseSchema })).data,
    audit: async (query) => (await http.request("GET", "/api/vault/audit", { query, schema: AuditListResponseSchema })).data.entries,
    verifyAudit: async () => (await http.request("GET", "/api/vault/audit/verify", { schema: AuditVerifyResponseSchema })).data,
  };
}
