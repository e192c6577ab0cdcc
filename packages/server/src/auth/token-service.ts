/**
 * @module auth/token-service
 * Access tokens: JWTs signed with the node's Ed25519 key (EdDSA), carrying an owner and scopes.
 * Every token is also recorded in storage so that it can be listed and revoked; verification itself
 * needs no storage read (revocations are held in memory), which keeps authentication off the hot path.
 */
import { createHash, randomUUID, sign, type KeyObject } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { ScopeSchema, type CreateTokenRequest, type CreateTokenResponse, type Scope, type TokenInfo } from "@kai/protocol";
import type { TokenRow, TokenStore } from "../storage/contracts/node-store.js";
import type { Principal, PrincipalGate } from "./principal.js";
import { ApiError, notFound } from "../errors.js";

/** Verified tokens are cached by their text so that a busy client pays for one signature check, not one per request. */
const VERIFY_CACHE_LIMIT = 10_000;

/**
 * The key tokens are signed with: the node key (identity/node-key.ts) fits it. A port, so that auth/ does not
 * import identity/ (which reads the vault, which reads auth/'s scope rules).
 */
export interface TokenSigningKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** Throws ApiError `vault_locked` while the key is sealed in a locked vault: no token can be minted then. */
  readonly privateKey: KeyObject;
  /** False while the private key is sealed (optional: a key that is always there may leave it out). */
  readonly available?: boolean;
}

export interface TokenServiceOptions {
  store: TokenStore;
  key: TokenSigningKey;
  issuer: string;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  now?: () => number;
  /** Told after a revocation is stored (a cluster publishes it to the other instances). */
  onRevoked?: (id: string) => Promise<void>;
  /** Caps users' tokens by their current roles and refuses those of disabled users and revoked sessions (issue 14). */
  gate?: PrincipalGate;
}

export class TokenService {
  private readonly revoked = new Set<string>();
  private readonly cache = new Map<string, Principal>();
  private readonly now: () => number;

  private constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  static async create(options: TokenServiceOptions): Promise<TokenService> {
    const service = new TokenService(options);
    for (const row of await options.store.listTokens()) if (row.revokedAt) service.revoked.add(row.id);
    return service;
  }

  /** False while no token can be minted (the node key is sealed in a locked vault). */
  get canMint(): boolean {
    return this.options.key.available !== false;
  }

  /**
   * A secret derived from the node key for `label` (an Ed25519 signature is deterministic, so every instance of the
   * node derives the same one): keys that must be shared by the instances without being stored, such as the CSRF key.
   * Throws `vault_locked` while the key is sealed.
   */
  deriveKey(label: string): Buffer {
    return createHash("sha256").update(sign(null, Buffer.from(`kai derived key: ${label}`), this.options.key.privateKey)).digest();
  }

  /**
   * Signs a session's access token (claims `uid`, `sid`). It is not stored: a session's tokens are refused through
   * the session (revocation by `sid`), and live minutes only.
   */
  async signAccess(request: { owner: string; scopes: readonly Scope[]; userId: string; sessionId: string; ttlSeconds: number }): Promise<{ token: string; expiresAt: number }> {
    const issuedAt = Math.floor(this.now() / 1000);
    const expires = issuedAt + request.ttlSeconds;
    const claims = { scope: [...new Set(request.scopes)].join(" "), uid: request.userId, sid: request.sessionId };
    const token = await this.signJwt(claims, { owner: request.owner, id: randomUUID(), issuedAt, expires });
    return { token, expiresAt: expires * 1000 };
  }

  /** Signs `claims` as this node's EdDSA JWT for `owner` (the one place tokens are signed: API tokens and sessions' access tokens). */
  private signJwt(claims: Record<string, unknown>, token: { owner: string; id: string; issuedAt: number; expires: number }): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: this.options.key.keyId })
      .setIssuer(this.options.issuer)
      .setSubject(token.owner)
      .setJti(token.id)
      .setIssuedAt(token.issuedAt)
      .setExpirationTime(token.expires)
      .sign(this.options.key.privateKey);
  }

  /** Mints a token. The caller has already been authorised to do so. `userId`: a user's personal token (claim `uid`, capped by their roles). */
  async mint(request: CreateTokenRequest & { owner: string; userId?: string }): Promise<CreateTokenResponse> {
    const ttl = request.ttl ?? this.options.defaultTtlSeconds;
    if (ttl > this.options.maxTtlSeconds) {
      throw new ApiError("validation_failed", "ttl is too long", [{ path: "ttl", message: `must be at most ${this.options.maxTtlSeconds} seconds` }]);
    }
    const id = randomUUID();
    const issuedAt = Math.floor(this.now() / 1000);
    const scopes = [...new Set(request.scopes)];
    const claims: Record<string, unknown> = { scope: scopes.join(" ") };
    if (request.secrets) claims.sec = request.secrets;
    if (request.userId) claims.uid = request.userId;
    const token = await this.signJwt(claims, { owner: request.owner, id, issuedAt, expires: issuedAt + ttl });
    const row: TokenRow = {
      id,
      owner: request.owner,
      scopes,
      ...(request.name !== undefined ? { name: request.name } : {}),
      ...(request.secrets !== undefined ? { secrets: request.secrets } : {}),
      createdAt: new Date(issuedAt * 1000).toISOString(),
      expiresAt: new Date((issuedAt + ttl) * 1000).toISOString(),
      revokedAt: null,
    };
    await this.options.store.insertToken(row);
    return { ...toInfo(row), token };
  }

  /**
   * `verify` for a token verified before, without a promise: the principal, or null when it has since expired or
   * been revoked; undefined when the token is not in the cache (then `verify` must check its signature).
   * Revocation and expiry are checked on every call, so a cached answer never outlives either.
   */
  verifyCached(token: string): Principal | null | undefined {
    const raw = this.rawCached(token);
    if (!raw || !raw.userId || !this.options.gate) return raw;
    return this.options.gate.apply(raw);
  }

  /** Verifies a bearer token; returns null for anything that is not a valid, unrevoked, unexpired token of this node. */
  async verify(token: string): Promise<Principal | null> {
    const raw = this.rawCached(token) ?? (await this.verifySignature(token));
    if (!raw || !raw.userId || !this.options.gate) return raw;
    return this.options.gate.apply(raw) ?? (await this.options.gate.load(raw));
  }

  /** Why a verified user's token is refused (`session_revoked`, `account_disabled`), for a clearer error; null otherwise. */
  refusal(token: string): "session_revoked" | "account_disabled" | null {
    const raw = this.rawCached(token);
    return raw?.userId && this.options.gate ? this.options.gate.refusal(raw) : null;
  }

  /** The token as signed (before a user's roles cap it): null when expired or revoked, undefined when not cached. */
  private rawCached(token: string): Principal | null | undefined {
    const cached = this.cache.get(token);
    if (!cached) return undefined;
    if (cached.expiresAt > this.now() && !this.revoked.has(cached.tokenId)) return cached;
    this.cache.delete(token);
    return null;
  }

  private async verifySignature(token: string): Promise<Principal | null> {
    if (token.length > 4096) return null;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.options.key.publicKey, {
        issuer: this.options.issuer,
        algorithms: ["EdDSA"],
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
      throw error;
    }
    const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
    const parsedScopes = scopes.map((scope) => ScopeSchema.safeParse(scope)).filter((r) => r.success).map((r) => r.data);
    if (!payload.jti || !payload.sub || !payload.exp || this.revoked.has(payload.jti)) return null;
    const sec = payload.sec;
    const secretPatterns = Array.isArray(sec) && sec.every((p) => typeof p === "string") ? (sec as string[]) : undefined;
    const userId = typeof payload.uid === "string" ? payload.uid : undefined;
    const sessionId = typeof payload.sid === "string" ? payload.sid : undefined;
    const principal: Principal = {
      tokenId: payload.jti,
      owner: payload.sub,
      scopes: parsedScopes,
      expiresAt: payload.exp * 1000,
      ...(secretPatterns ? { secretPatterns } : {}),
      ...(userId ? { userId } : {}),
      ...(sessionId ? { sessionId, via: "session" as const } : { via: "token" as const }),
    };
    if (this.cache.size >= VERIFY_CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, principal);
    return principal;
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.options.store.listTokens()).map(toInfo);
  }

  /**
   * The tokens acting in `owner`'s name (a user's own: the personal tokens they minted, and any an admin minted with
   * them as owner), never their values. The store keeps no user id on a token row: the owner name is the link.
   */
  async listOwnedBy(owner: string): Promise<TokenInfo[]> {
    return (await this.options.store.listTokens()).filter((row) => row.owner === owner).map(toInfo);
  }

  /** Revokes one of `owner`'s tokens; `not_found` for anyone else's (whether it exists is not theirs to learn). */
  async revokeOwned(id: string, owner: string): Promise<void> {
    const row = await this.options.store.getToken(id);
    if (!row || row.owner !== owner) throw notFound("token");
    await this.revoke(id);
  }

  async revoke(id: string): Promise<void> {
    const found = await this.options.store.revokeToken(id, new Date(this.now()).toISOString());
    if (!found) throw notFound("token");
    this.markRevoked(id);
    // Other instances of the node (a cluster) are told before the caller hears "revoked".
    await this.options.onRevoked?.(id);
  }

  /** Refuses a token from now on: one this instance revoked, or one another instance of the node did. */
  markRevoked(id: string): void {
    this.revoked.add(id);
    for (const [text, principal] of this.cache) if (principal.tokenId === id) this.cache.delete(text);
  }

  /**
   * Reads every revocation from storage again (a cluster instance that was cut off from the database for longer
   * than signals are kept must not go on accepting a token revoked meanwhile). Returns how many were new.
   */
  async refreshRevoked(): Promise<number> {
    let added = 0;
    for (const row of await this.options.store.listTokens()) {
      if (row.revokedAt && !this.revoked.has(row.id)) {
        this.markRevoked(row.id);
        added++;
      }
    }
    return added;
  }
}

function toInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    owner: row.owner,
    scopes: row.scopes as Scope[],
    ...(row.name !== undefined ? { name: row.name } : {}),
    ...(row.secrets !== undefined ? { secrets: row.secrets } : {}),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}
