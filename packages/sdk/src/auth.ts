/**
 * @module auth
 * `client.auth`: signing in and out (`/api/auth/*`), who am I, the session list and the security log. A
 * successful sign-in or refresh is taken over by the client's session (session.ts), so that the same client
 * goes on with the new access token and renews it by itself. An agent signs in with its KLP key: it asks for
 * a one-time challenge for its DID and signs the challenge's message with the key (Ed25519, @kai/protocol's
 * KLP helpers); the key itself is never sent. Single sign-on for programs: the start URL to open in a browser and
 * the exchange of the one-time code its loopback address receives (sso.ts makes the verifier).
 */
import {
  ChallengeResponseSchema,
  ListSecurityEventsResponseSchema,
  ListSessionsResponseSchema,
  ListSsoProvidersResponseSchema,
  LoginResponseSchema,
  ValidateResponseSchema,
  klp,
  type LoginResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { SessionCredentials } from "./session.js";
import { ssoStartUrl } from "./sso.js";
import type { AgentKey, AuthClient } from "./types.js";

const sessionPath = (id: string) => `/api/auth/sessions/${encodeURIComponent(id)}`;

/** Only the fields that are set, so optional values are left out of the JSON body and query. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/** The 32-byte Ed25519 seed of an agent's key, from whichever form the caller has. */
function seedOf(key: AgentKey): Uint8Array {
  const raw = key.seed ?? key.privateKey;
  if (raw === undefined) throw new TypeError("signInAsAgent needs the agent's key: seed (or privateKey), 32 bytes");
  const bytes = typeof raw === "string" ? klp.fromBase64Url(raw) : raw;
  if (bytes?.length !== 32) throw new TypeError("the agent's key must be a 32-byte Ed25519 seed (bytes or base64url)");
  return bytes;
}

export function createAuthClient(http: HttpTransport, session: SessionCredentials): AuthClient {
  const takeOver = async (response: LoginResponse): Promise<LoginResponse> => {
    await session.adopt(response);
    return response;
  };
  const login: AuthClient["login"] = async (request) =>
    takeOver((await http.request("POST", "/api/auth/login", { body: request, schema: LoginResponseSchema, anonymous: true })).data);
  const challenge: AuthClient["challenge"] = async (did) =>
    (await http.request("POST", "/api/auth/challenge", { body: { did }, schema: ChallengeResponseSchema, anonymous: true })).data;

  return {
    login,
    challenge,
    signInAsAgent: async (key) => {
      const seed = seedOf(key);
      const pair = klp.keyPairFromSeed(seed);
      // The DID names the key; a DID given by the caller must be this key's, or the server would refuse anyway.
      if (key.did !== undefined && klp.publicKeyFromDid(key.did) !== undefined && key.did !== pair.did) {
        throw new TypeError(`the key does not belong to ${key.did} (its DID is ${pair.did})`);
      }
      const did = key.did ?? pair.did;
      const issued = await challenge(did);
      const signature = klp.toBase64Url(klp.signBytes(pair.secretKey, klp.utf8(issued.message)));
      return login({ did, challengeId: issued.challengeId, signature });
    },
    ssoProviders: async () =>
      (await http.request("GET", "/api/auth/sso/providers", { schema: ListSsoProvidersResponseSchema, anonymous: true })).data.providers,
    ssoStartUrl: (provider, options) => ssoStartUrl(http.baseUrl, provider, options),
    ssoExchange: async (request) =>
      takeOver((await http.request("POST", "/api/auth/sso/exchange", { body: request, schema: LoginResponseSchema, anonymous: true })).data),
    refresh: async (refreshToken) => {
      const token = refreshToken ?? session.currentRefreshToken();
      const response = await http.request("POST", "/api/auth/refresh", { body: defined({ refreshToken: token }), schema: LoginResponseSchema, anonymous: true });
      return takeOver(response.data);
    },
    logout: async () => {
      const refreshToken = session.currentRefreshToken();
      try {
        // Token mode names the session by its refresh token; a cookie session is named by its cookie and
        // needs its CSRF header, so it goes with the client's credentials.
        await http.request("POST", "/api/auth/logout", { body: defined({ refreshToken }), anonymous: refreshToken !== undefined });
      } finally {
        await session.end();
      }
    },
    validate: async () => (await http.request("GET", "/api/auth/validate", { schema: ValidateResponseSchema })).data,
    sessions: {
      list: async () => (await http.request("GET", "/api/auth/sessions", { schema: ListSessionsResponseSchema })).data.sessions,
      revoke: async (id) => {
        await http.request("DELETE", sessionPath(id));
      },
    },
    securityEvents: async (query = {}) =>
      (await http.request("GET", "/api/security/events", { query: defined(query), schema: ListSecurityEventsResponseSchema })).data,
  };
}
