/**
 * @module http/routes/vault
 * The credential vault's REST surface under `/api/vault`: status, init, unlock, lock, rekey, rotate,
 * named secrets and the audit log. Routes only authenticate (any valid token) and validate: the vault
 * authorises each call itself, so that a denial is written to the audit log like any other outcome.
 * Every answer carries `Cache-Control: no-store`: some hold secret values, and none should sit in a cache.
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AuditListResponseSchema,
  AuditQuerySchema,
  AuditVerifyResponseSchema,
  ErrorBodySchema,
  InitRequestSchema,
  ListSecretsResponseSchema,
  PutSecretRequestSchema,
  RekeyRequestSchema,
  RotateResponseSchema,
  SecretInfoSchema,
  SecretNameSchema,
  SecretValueResponseSchema,
  UnlockRequestSchema,
  VaultStatusSchema,
} from "@kai/protocol";
import type { AuditQuery, Vault } from "../../vault/vault.js";
import { vaultActor } from "../vault-actor.js";

/**
 * Secret names are paths (`openai/prod`), so the name is the route's wildcard; the schema still decides
 * what a valid name is.
 */
const SecretParamsSchema = z.strictObject({ "*": SecretNameSchema.describe("secret name, may contain /") });
/**
 * The name is masked in the request line (`/api/vault/secrets/[redacted]`, http/logged-path.ts): the vault's audit
 * keeps names only as HMACs and its log lines never name a secret, so the request log must not either.
 */
const SECRET_NAME = ["*"] as const;
const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
  429: ErrorBodySchema,
  503: ErrorBodySchema,
};
const security = [{ bearer: [] }];
const tags = ["vault"];

export function vaultRoutes(vault: Vault): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("onSend", async (_request, reply, payload) => {
      reply.header("Cache-Control", "no-store");
      return payload;
    });

    app.get("/api/vault/status", {
      config: { scopes: [], bucket: "read" },
      schema: { tags, summary: "Vault status: initialised, locked, key version (any valid token)", security, response: { 200: VaultStatusSchema, ...errors } },
    }, async () => vault.status());

    app.post("/api/vault/init", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Initialise the vault (vault:admin)",
        description: "With `passphrase`, the vault is sealed by it; without, a random key in `<data-dir>/vault.key` (development default).",
        security,
        body: InitRequestSchema.nullish(),
        response: { 200: VaultStatusSchema, ...errors },
      },
    }, async (request) => vault.init(request.body?.passphrase, vaultActor(request)));

    app.post("/api/vault/unlock", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Unlock the vault with its passphrase, or a key-file vault from its key file (vault:admin)",
        description:
          "A wrong passphrase answers 403 `invalid_passphrase`; repeated wrong attempts answer 429 with Retry-After. " +
          "Without `passphrase` (an empty object or no body), a development-default vault unlocks from `<data-dir>/vault.key`.",
        security,
        body: UnlockRequestSchema.nullish(),
        response: { 200: VaultStatusSchema, ...errors },
      },
    }, async (request) => vault.unlock(request.body?.passphrase, vaultActor(request)));

    app.post("/api/vault/lock", {
      config: { scopes: [], bucket: "write" },
      schema: { tags, summary: "Lock the vault and drop its keys from memory (vault:admin)", security, response: { 200: VaultStatusSchema, ...errors } },
    }, async (request) => vault.lock(vaultActor(request)));

    app.post("/api/vault/rekey", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Re-wrap the keyring under a new passphrase (vault:admin)",
        description: "Secrets are not touched. Without `newPassphrase` the vault goes back to the development key file.",
        security,
        body: RekeyRequestSchema,
        response: { 200: VaultStatusSchema, ...errors },
      },
    }, async (request) => vault.rekey(request.body.newPassphrase, vaultActor(request)));

    app.post("/api/vault/rotate", {
      config: { scopes: [], bucket: "write" },
      schema: { tags, summary: "New data-key version; every secret re-encrypted (vault:admin)", security, response: { 200: RotateResponseSchema, ...errors } },
    }, async (request) => vault.rotate(vaultActor(request)));

    app.get("/api/vault/secrets", {
      config: { scopes: [], bucket: "read" },
      schema: { tags, summary: "List secrets: names and metadata, never values (vault:read)", security, response: { 200: ListSecretsResponseSchema, ...errors } },
    }, async (request) => ({ secrets: await vault.listSecrets(vaultActor(request)) }));

    app.put("/api/vault/secrets/*", {
      config: { scopes: [], bucket: "write", secretParams: SECRET_NAME },
      schema: {
        tags,
        summary: "Store a secret (a new version if it exists; vault:write on that name)",
        security,
        params: SecretParamsSchema,
        body: PutSecretRequestSchema,
        response: { 200: SecretInfoSchema, ...errors },
      },
    }, async (request) => vault.putSecret(request.params["*"], request.body, vaultActor(request)));

    app.get("/api/vault/secrets/*", {
      config: { scopes: [], bucket: "read", secretParams: SECRET_NAME },
      schema: {
        tags,
        summary: "Read a secret's value (vault:read on that name)",
        description: "Expired secrets answer 404.",
        security,
        params: SecretParamsSchema,
        response: { 200: SecretValueResponseSchema, ...errors },
      },
    }, async (request) => vault.getSecret(request.params["*"], vaultActor(request)));

    app.delete("/api/vault/secrets/*", {
      config: { scopes: [], bucket: "write", secretParams: SECRET_NAME },
      schema: { tags, summary: "Delete a secret and all its versions (vault:write on that name)", security, params: SecretParamsSchema, response: { 204: z.null().describe("Deleted"), ...errors } },
    }, async (request, reply) => {
      await vault.deleteSecret(request.params["*"], vaultActor(request));
      return reply.status(204).send(null);
    });

    app.get("/api/vault/audit", {
      config: { scopes: [], bucket: "read" },
      schema: {
        tags,
        summary: "Read the audit log (admin)",
        description: "Oldest first, page forward with `afterSeq`; `order=desc` for the newest first. Secret names appear only as keyed HMACs.",
        security,
        querystring: AuditQuerySchema,
        response: { 200: AuditListResponseSchema, ...errors },
      },
    }, async (request) => {
      const { limit, operation, outcome, actor, afterSeq, order } = request.query;
      const query: AuditQuery = { limit };
      if (operation !== undefined) query.operation = operation;
      if (outcome !== undefined) query.outcome = outcome;
      if (actor !== undefined) query.actor = actor;
      if (afterSeq !== undefined) query.afterSeq = afterSeq;
      if (order !== undefined) query.order = order;
      return { entries: await vault.auditEntries(query, vaultActor(request)) };
    });

    app.get("/api/vault/audit/verify", {
      config: { scopes: [], bucket: "read" },
      schema: { tags, summary: "Verify the audit log's MAC chain (admin)", security, response: { 200: AuditVerifyResponseSchema, ...errors } },
    }, async (request) => vault.verifyAudit(vaultActor(request)));
  };
}
