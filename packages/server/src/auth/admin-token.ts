/**
 * @module auth/admin-token
 * The bootstrap credential: on first start (or whenever the file is missing) the node mints an admin token
 * and writes it to `<dataDir>/admin.token` with mode 0600. Whoever can read the data directory is the
 * node's administrator anyway, so a missing file is simply re-created.
 */
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import type { TokenService } from "./token-service.js";

export const ADMIN_TOKEN_FILE = "admin.token";
const ADMIN_TOKEN_TTL_SECONDS = 365 * 86400;

/**
 * Returns the admin token, minting and writing one when the file is absent or holds a token no longer valid.
 * While the node key is sealed in a locked vault no token can be minted: the node still starts (locked, not
 * ready, `kai vault unlock` works with a token minted earlier) and `token` is empty. `instanceName` names the
 * token, so that the tokens of a cluster's instances (one per data directory) can be told apart and revoked.
 */
export async function ensureAdminToken(dataDir: string, tokens: TokenService, instanceName?: string): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    const principal = await tokens.verify(token);
    if (principal?.scopes.includes("admin")) return { token, path, created: false };
  }
  if (!tokens.canMint) return { token: "", path, created: false };
  const name = instanceName ? `bootstrap admin token (${instanceName})` : "bootstrap admin token";
  const minted = await tokens.mint({ scopes: ["admin"], owner: "admin", ttl: ADMIN_TOKEN_TTL_SECONDS, name });
  writeFileSync(path, `${minted.token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { token: minted.token, path, created: true };
}
