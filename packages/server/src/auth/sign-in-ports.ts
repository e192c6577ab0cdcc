/**
 * @module auth/sign-in-ports
 * The ports between the parts of sign-in (issue 14), in one place so that each part imports the types from here
 * and none imports another's implementation:
 * - `SecondFactors`: MFA provides it (auth/mfa/second-factors.ts), the password login consumes it;
 * - `SessionStarter`: SPINE provides it (auth/sessions/), every way of signing in (password, passkey, SSO,
 *   agent key) ends in it, and `http/session-reply.ts` answers with what it issued;
 * - `LoginThrottle`: TIERS provides it (auth/throttle/), every password and agent attempt goes through it;
 * - `AgentSignIn`: TIERS provides it (auth/agents/), the agent variant of `POST /api/auth/login` hands to it.
 */
import type { AgentLoginRequest, ChallengeResponse, Scope } from "@kai/protocol";
import type { SessionMethod, UserRow } from "../storage/contracts/identity-store.js";

/** A second factor a user can have enrolled. */
export type SecondFactorKind = "totp" | "passkey" | "recovery_codes";

/** What a person presented besides their password. */
export interface PresentedSecondFactor {
  /** A 6-digit TOTP code. */
  code?: string;
  /** One of the user's recovery codes. */
  recoveryCode?: string;
  /** A WebAuthn assertion answering the challenge `challengeId`. */
  passkey?: { challengeId: string; response: Record<string, unknown> };
}

export interface SecondFactors {
  /**
   * Which factors the user has enrolled, and whether their roles require one they have not enrolled yet
   * (`mustEnrol`: the sign-in succeeds only to let them enrol, per the MFA configuration).
   */
  required(user: UserRow): Promise<{ enrolled: SecondFactorKind[]; mustEnrol: boolean }>;
  /** True when one presented factor is valid for the user (and consumed: a code step, a recovery code, a challenge). */
  verify(user: UserRow, presented: PresentedSecondFactor): Promise<boolean>;
}

/** How a session began (stored with it, shown in the session list, recorded in the security log). */
export interface SessionStart {
  method: SessionMethod;
  /** Whether a second factor was presented. */
  mfa: boolean;
  userAgent: string | null;
  address: string | null;
  /**
   * Non-secret context for the `sign_in` security event besides method, mfa and session id (single sign-on: the
   * provider's id, so the log says where the person proved who they are).
   */
  details?: Record<string, unknown>;
}

/**
 * A session just started or refreshed: everything the reply needs, in either mode. The secrets here (access and
 * refresh tokens, CSRF token) are shown to the client once and never logged.
 */
export interface IssuedSession {
  sessionId: string;
  /** The access token (an EdDSA JWT with `uid` and `sid` claims). */
  accessToken: string;
  /** The refresh token (random, 256 bits, base64url); only its SHA-256 is stored. */
  refreshToken: string;
  /** The CSRF token of cookie mode (derived from the session; sent back in `X-CSRF-Token`). */
  csrfToken: string;
  /** Access token expiry, ms since epoch. */
  accessExpiresAt: number;
  /** The session's absolute end, ms since epoch. */
  sessionExpiresAt: number;
  user: { id: string; username: string; kind: UserRow["kind"]; roles: string[] };
  /** The scopes the access token carries (the user's roles' scopes at the time). */
  scopes: Scope[];
}

export interface SessionStarter {
  /** Starts a session for a user who has just proven who they are. */
  start(user: UserRow, how: SessionStart): Promise<IssuedSession>;
}

/** The keys a sign-in attempt is counted under. */
export interface ThrottleKeys {
  /** The username as typed (or the agent's DID), lower-cased by the throttle. */
  username: string;
  /** The client's address. */
  address: string;
}

export interface LoginThrottle {
  /** Throws ApiError `login_throttled` (with Retry-After) while the keys must wait. */
  check(keys: ThrottleKeys): Promise<void>;
  /** A failed attempt: the delay grows. */
  failed(keys: ThrottleKeys): Promise<void>;
  /** A successful one: the username's count is cleared. */
  succeeded(keys: ThrottleKeys): Promise<void>;
}

/** Who is signing in, as the request shows it: recorded with the session and with every failure. */
export interface SignInClient {
  address: string;
  userAgent: string | null;
}

export interface AgentSignIn {
  /** A one-time challenge for the DID to sign. */
  challenge(did: string): Promise<ChallengeResponse>;
  /**
   * Checks the signature over the challenge (consuming it); the agent's user, or throws `invalid_credentials`.
   * `client`: where the attempt came from, for the security event of a failure.
   */
  verify(request: AgentLoginRequest, client: Pick<SignInClient, "address">): Promise<UserRow>;
}
