/**
 * @module agents/runtime/run-token
 * The token a run-agent registers with. Each start of the process gets a fresh one, passed in its environment
 * (`KAI_TOKEN`: never in args, which other users of the machine can read, and never logged), and revoked when the
 * process ends, so a token never outlives the process it was made for. Its scopes are only what an agent needs to
 * register its manifest and heartbeat (`agents:write`, `services:heartbeat`); its owner is the agent's own
 * (`run:<id>`), so with it the process can touch no record but those it registers itself. Tokens left by a node
 * that died without revoking them (named `run-agent <id>`) are revoked when the runtime opens.
 */
import type { Scope } from "@kai/protocol";
import type { TokenService } from "../../auth/token-service.js";

export const RUN_TOKEN_SCOPES: readonly Scope[] = ["agents:write", "services:heartbeat"];
const NAME_PREFIX = "run-agent ";

export interface RunTokens {
  mint(agentId: string): Promise<{ token: string; tokenId: string }>;
  revoke(tokenId: string): Promise<void>;
  /** Revokes every run-agent token still valid (a previous node process's, whose children are gone or orphaned). */
  revokeLeftovers(): Promise<number>;
}

/** The owner of a run-agent's token and records: its own, so its token reaches nothing else. */
export function runOwnerOf(agentId: string): string {
  return `run:${agentId}`;
}

export function createRunTokens(tokens: Pick<TokenService, "mint" | "revoke" | "list">, ttlSeconds: number): RunTokens {
  return {
    async mint(agentId) {
      const minted = await tokens.mint({ scopes: [...RUN_TOKEN_SCOPES], owner: runOwnerOf(agentId), name: `${NAME_PREFIX}${agentId}`, ttl: ttlSeconds });
      return { token: minted.token, tokenId: minted.id };
    },
    async revoke(tokenId) {
      await tokens.revoke(tokenId).catch(() => undefined);
    },
    async revokeLeftovers() {
      let revoked = 0;
      const now = Date.now();
      for (const info of await tokens.list()) {
        if (info.revokedAt !== null || !info.name?.startsWith(NAME_PREFIX) || !info.owner.startsWith("run:") || Date.parse(info.expiresAt) <= now) continue;
        await tokens.revoke(info.id).catch(() => undefined);
        revoked++;
      }
      return revoked;
    },
  };
}
