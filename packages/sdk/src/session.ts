/**
 * @module session
 * What a client authenticates with: a fixed bearer token, or a sign-in session (a short-lived access token
 * plus a rotating refresh token). A session renews its access token shortly before it expires, or when the
 * server answers 401 to it, and hands every new pair of tokens to `onTokens` so that the caller can keep the
 * rotated refresh token (the old one is spent: presenting it again would revoke the session). Renewals are
 * single-flight: concurrent requests share one refresh, since two refreshes with one token look like theft.
 */
import type { LoginResponse } from "@kai/protocol";
import { KaiApiError } from "./errors.js";

/** The tokens of a session as the client holds them; `accessExpiresAt` is by the local clock. */
export interface SessionTokens {
  accessToken: string;
  /** When the access token expires, ISO-8601, computed from `expiresIn` on this machine (no clock skew). */
  accessExpiresAt: string;
  refreshToken: string;
  /** When the session ends for good (server time). */
  sessionExpiresAt: string;
}

/** How the transport asks for credentials; one implementation, kept as a port so that the transport stays small. */
export interface Credentials {
  /** Headers that authenticate a request (bearer token, CSRF header of a cookie session); may renew first. */
  authorize(method: string): Promise<Record<string, string>>;
  /**
   * After a 401 to a request sent with `usedToken`: true when a retry may succeed (a new access token is
   * ready, by this call or a concurrent one). Throws the refresh's own error when the session is over.
   */
  renew(usedToken: string | undefined): Promise<boolean>;
}

export interface SessionInit {
  /** An access token to start with (without `refreshToken` this is the fixed token of the client). */
  token?: string | undefined;
  /** When `token` expires (ISO-8601); unknown means "use it until the server refuses it". */
  accessExpiresAt?: string | undefined;
  refreshToken?: string | undefined;
  sessionExpiresAt?: string | undefined;
  /**
   * A browser session held in HttpOnly cookies (the same-origin web app): no token is ever visible here; the
   * client keeps the session's CSRF token for writes and renews through the refresh cookie.
   */
  cookie?: boolean | undefined;
  /** Called with the new tokens after every sign-in and refresh, and with `null` when the session ended. */
  onTokens?: ((tokens: SessionTokens | null) => void | Promise<void>) | undefined;
}

/** Renew this long before the access token expires, so a request never leaves with a token about to lapse. */
const RENEW_MARGIN_MS = 30_000;

/** Cookie mode: a 401 within this long after a renewal is retried with the cookie that renewal set. */
const COOKIE_RENEWAL_REUSE_MS = 5_000;

/**
 * The API codes of a 401 after which the session is asked for a fresh access token: `unauthorized` (the access
 * token expired) may be cured by it; after `session_revoked` the refresh is refused too, which ends the session
 * here as well (reported as `null`, so a stored refresh token is dropped).
 */
const RENEWABLE_CODES = new Set(["unauthorized", "session_revoked"]);

export function isRenewableRefusal(status: number, code: string | undefined): boolean {
  return status === 401 && code !== undefined && RENEWABLE_CODES.has(code);
}

export class SessionCredentials implements Credentials {
  private accessToken: string | undefined;
  private accessExpiresAtMs: number | undefined;
  private refreshToken: string | undefined;
  private sessionExpiresAt: string | undefined;
  private csrfToken: string | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly cookie: boolean;
  /** Cookie mode: when the last renewal finished (a 401 to a request sent before it is retried without renewing again). */
  private lastRenewalMs = Number.NEGATIVE_INFINITY;

  constructor(
    init: SessionInit,
    /** Calls `POST /api/auth/refresh` with a refresh token, or with none in cookie mode (without credentials of its own). */
    private readonly refresher: (refreshToken: string | undefined) => Promise<LoginResponse>,
    private readonly onTokens: SessionInit["onTokens"] = init.onTokens,
    private readonly now: () => number = Date.now,
  ) {
    this.accessToken = init.token;
    const expires = init.accessExpiresAt !== undefined ? Date.parse(init.accessExpiresAt) : Number.NaN;
    this.accessExpiresAtMs = Number.isNaN(expires) ? undefined : expires;
    this.refreshToken = init.refreshToken;
    this.sessionExpiresAt = init.sessionExpiresAt;
    this.cookie = init.cookie === true;
  }

  /** True when the client holds a refresh token (a session), false for a fixed token or none. */
  get hasSession(): boolean {
    return this.refreshToken !== undefined || this.cookie;
  }

  async authorize(method: string): Promise<Record<string, string>> {
    if (this.cookie) {
      if (this.accessExpiresAtMs !== undefined && this.needsRenewal()) await this.refresh();
    } else if (this.refreshToken !== undefined && this.needsRenewal()) await this.refresh();
    const headers: Record<string, string> = {};
    if (this.accessToken !== undefined) headers.authorization = `Bearer ${this.accessToken}`;
    // A cookie session sends its CSRF token back on every write (the cookie itself goes with the browser's fetch).
    if (this.csrfToken !== undefined && method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = this.csrfToken;
    return headers;
  }

  async renew(usedToken: string | undefined): Promise<boolean> {
    if (this.cookie) {
      // The cookie is the token: a renewal that finished while this request was out (within a few seconds) serves it too.
      if (this.inFlight === undefined && this.now() - this.lastRenewalMs > COOKIE_RENEWAL_REUSE_MS) await this.refresh();
      else await this.inFlight;
      return true;
    }
    if (this.refreshToken === undefined) return false;
    // Another request renewed while this one was on its way: retry with the token we have now.
    if (this.accessToken !== usedToken) return true;
    await this.refresh();
    return true;
  }

  /** Takes the tokens of a sign-in or refresh answer and reports them. */
  async adopt(response: LoginResponse): Promise<void> {
    if (response.csrfToken !== undefined) this.csrfToken = response.csrfToken;
    if (this.cookie) {
      this.accessExpiresAtMs = this.now() + response.expiresIn * 1000;
      this.sessionExpiresAt = response.sessionExpiresAt;
      this.lastRenewalMs = this.now();
      return;
    }
    if (response.accessToken === undefined) return;
    this.accessToken = response.accessToken;
    this.accessExpiresAtMs = this.now() + response.expiresIn * 1000;
    this.sessionExpiresAt = response.sessionExpiresAt;
    if (response.refreshToken !== undefined) this.refreshToken = response.refreshToken;
    const tokens = this.tokens();
    if (tokens !== null) await this.onTokens?.(tokens);
  }

  /** Forgets the session (signed out, or the server says it is over) and reports `null`. */
  async end(): Promise<void> {
    const had = this.refreshToken !== undefined || this.accessToken !== undefined || this.csrfToken !== undefined;
    this.accessToken = undefined;
    this.accessExpiresAtMs = undefined;
    this.refreshToken = undefined;
    this.sessionExpiresAt = undefined;
    this.csrfToken = undefined;
    if (had) await this.onTokens?.(null);
  }

  /** The refresh token held now (for `logout`), never logged. */
  currentRefreshToken(): string | undefined {
    return this.refreshToken;
  }

  /** The access token held now (for opening a watch stream). */
  async currentAccessToken(): Promise<string | undefined> {
    // In cookie mode there is no token to return, but a stream opened now must carry a fresh access cookie.
    const renewable = this.refreshToken !== undefined || (this.cookie && this.accessExpiresAtMs !== undefined);
    if (renewable && this.needsRenewal()) await this.refresh();
    return this.accessToken;
  }

  private tokens(): SessionTokens | null {
    if (this.accessToken === undefined || this.refreshToken === undefined || this.accessExpiresAtMs === undefined) return null;
    return {
      accessToken: this.accessToken,
      accessExpiresAt: new Date(this.accessExpiresAtMs).toISOString(),
      refreshToken: this.refreshToken,
      sessionExpiresAt: this.sessionExpiresAt ?? new Date(this.accessExpiresAtMs).toISOString(),
    };
  }

  private needsRenewal(): boolean {
    if (this.accessToken === undefined && !this.cookie) return true;
    return this.accessExpiresAtMs !== undefined && this.accessExpiresAtMs - this.now() < RENEW_MARGIN_MS;
  }

  private refresh(): Promise<void> {
    this.inFlight ??= this.runRefresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runRefresh(): Promise<void> {
    const refreshToken = this.refreshToken;
    if (refreshToken === undefined && !this.cookie) return;
    try {
      await this.adopt(await this.refresher(refreshToken));
    } catch (error) {
      // The server refused the refresh token (revoked, expired, reused): the session is over for good.
      if (error instanceof KaiApiError && error.status === 401) await this.end();
      throw error;
    }
  }
}
