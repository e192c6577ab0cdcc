/**
 * @module http/routes/transit
 * Transit encryption at the seed's paths (`/vault/encrypt`, `/vault/decrypt`, plus `/vault/rewrap`):
 * the vault encrypts and decrypts data it does not store. Authenticated like every protected route; the
 * vault authorises (encrypt and rewrap need vault:write, decrypt vault:read) and audits. Every decrypt
 * failure is the same `decryption_failed`, so an answer never tells which part of a forgery was wrong.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  DecryptRequestSchema,
  DecryptResponseSchema,
  EncryptRequestSchema,
  EncryptResponseSchema,
  ErrorBodySchema,
  RewrapRequestSchema,
} from "@kai/protocol";
import type { Vault } from "../../vault/vault.js";
import { vaultActor } from "../vault-actor.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
const security = [{ bearer: [] }];
const tags = ["vault"];

export function transitRoutes(vault: Vault): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("onSend", async (_request, reply, payload) => {
      reply.header("Cache-Control", "no-store");
      return payload;
    });

    app.post("/vault/encrypt", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Encrypt text with the vault's current data key (vault:write)",
        description: "Answers `kai:v<N>:…`. `associatedData`, if given, must be presented again to decrypt.",
        security,
        body: EncryptRequestSchema,
        response: { 200: EncryptResponseSchema, ...errors },
      },
    }, async (request) => vault.encrypt(request.body.plaintext, request.body.associatedData, vaultActor(request)));

    app.post("/vault/decrypt", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Decrypt a kai:v<N>: ciphertext (vault:read)",
        description: "Any failure (tampered, truncated, wrong associated data, retired key) answers the same 400 `decryption_failed`.",
        security,
        body: DecryptRequestSchema,
        response: { 200: DecryptResponseSchema, ...errors },
      },
    }, async (request) => vault.decrypt(request.body.ciphertext, request.body.associatedData, vaultActor(request)));

    app.post("/vault/rewrap", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags,
        summary: "Re-encrypt a ciphertext under the current key version without revealing it (vault:write)",
        security,
        body: RewrapRequestSchema,
        response: { 200: EncryptResponseSchema, ...errors },
      },
    }, async (request) => vault.rewrap(request.body.ciphertext, request.body.associatedData, vaultActor(request)));
  };
}
