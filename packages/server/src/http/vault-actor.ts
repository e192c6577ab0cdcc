/**
 * @module http/vault-actor
 * Maps the authenticated principal of a request onto the vault's `VaultActor`. The vault authorises
 * and audits by itself, so it needs who is calling (token id, owner, scopes, secret patterns) and the
 * request id that ties its audit entry to the request log line.
 */
import type { FastifyRequest } from "fastify";
import type { VaultActor } from "../vault/vault.js";
import { principalOf } from "./authenticate.js";

export function vaultActor(request: FastifyRequest): VaultActor {
  const principal = principalOf(request);
  const actor: VaultActor = {
    tokenId: principal.tokenId,
    owner: principal.owner,
    scopes: principal.scopes,
    requestId: request.id,
  };
  if (principal.secretPatterns !== undefined) actor.secretPatterns = principal.secretPatterns;
  return actor;
}
