/**
 * @module auth/sso/oidc-relying-party
 * One OpenID Connect provider as seen by this node, on `openid-client` (a certified relying-party library: the
 * protocol checks are not ours to hand-write). It discovers the issuer once (its metadata is cached; a failed
 * discovery is retried on the next sign-in), builds the authorization request (code flow, PKCE S256, state, nonce)
 * and redeems the code: the library checks the authorization response (state, RFC 9207 `iss`), the token response
 * and the ID token (signature against the issuer's keys, `iss`, `aud`, `exp`, `nonce`). The claims are then
 * completed from the UserInfo endpoint (many providers put groups only there), whose `sub` must match.
 *
 * The client secret is read through a port at each code redemption, never kept or logged here: a secret
 * rotated in the vault is used at the next sign-in.
 */
import * as oidc from "openid-client";
import { isLoopbackUrl, type SsoProvider } from "../../config/sso-config.js";
import type { Claims } from "./claim-mapping.js";

/** How long one request to the provider may take, seconds. */
const PROVIDER_TIMEOUT_SECONDS = 10;

/** A built authorization request: where to send the browser, and what to keep until it comes back. */
export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What was kept at the start, checked at the callback. */
export interface ExpectedResponse {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * A failure talking to the provider or checking its answers: `reason` is a stable word, `message` safe to show to
 * the person signing in, `detail` (for the operator's log line) may say more about the node's own side.
 */
export class OidcFailure extends Error {
  constructor(
    readonly reason: "discovery_failed" | "provider_error" | "response_rejected" | "secret_unavailable",
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = "OidcFailure";
  }
}

export class OidcRelyingParty {
  private metadata: Promise<oidc.ServerMetadata> | null = null;
  /** The issuer's signing keys as last fetched, shared by the sign-ins (the library refetches on an unknown key id). */
  private jwks: ReturnType<typeof oidc.getJwksCache>;
  /** Plain HTTP is allowed only for an issuer on this machine (the config schema refuses any other). */
  private readonly insecure: boolean;

  constructor(
    readonly provider: SsoProvider,
    private readonly clientSecret: () => Promise<string>,
  ) {
    this.insecure = new URL(provider.issuer).protocol === "http:" && isLoopbackUrl(new URL(provider.issuer));
  }

  /** The authorization URL for a new sign-in, with fresh state, nonce and PKCE verifier. */
  async authorizationRequest(redirectUri: string): Promise<AuthorizationRequest> {
    const config = this.configuration(await this.serverMetadata(), oidc.None());
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.provider.scopes.join(" "),
      response_type: "code",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Redeems the authorization response that reached `callbackUrl` (the redirect URI with the provider's query) and
   * returns the verified claims: the ID token's, completed by UserInfo's.
   */
  async redeem(callbackUrl: URL, expected: ExpectedResponse): Promise<Claims> {
    const metadata = await this.serverMetadata();
    let secret: string;
    try {
      secret = await this.clientSecret();
    } catch (error) {
      throw new OidcFailure("secret_unavailable", `the client secret of provider ${this.provider.id} could not be read; an administrator must check it`, error instanceof Error ? error.message : "unknown error");
    }
    const auth = this.provider.tokenEndpointAuthMethod === "client_secret_post" ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
    const config = this.configuration(metadata, auth);
    if (this.jwks) oidc.setJwksCache(config, this.jwks);
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      this.jwks = oidc.getJwksCache(config) ?? this.jwks;
      const idClaims = tokens.claims();
      if (!idClaims) throw new OidcFailure("response_rejected", "the provider sent no ID token");
      let userInfo: Claims = {};
      if (metadata.userinfo_endpoint !== undefined && tokens.access_token) {
        userInfo = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      }
      // The ID token's protocol claims (sub, iss, aud, nonce) win; profile claims come from either.
      return { ...userInfo, ...idClaims };
    } catch (error) {
      throw failureOf(error);
    }
  }

  /** The issuer's metadata, discovered once; a failed discovery is forgotten so that the next sign-in tries again. */
  private serverMetadata(): Promise<oidc.ServerMetadata> {
    this.metadata ??= oidc
      .discovery(new URL(this.provider.issuer), this.provider.clientId, undefined, oidc.None(), {
        timeout: PROVIDER_TIMEOUT_SECONDS,
        ...(this.insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .then((config) => config.serverMetadata())
      .catch((error: unknown) => {
        this.metadata = null;
        throw new OidcFailure("discovery_failed", `the provider ${this.provider.id} could not be reached or its discovery document was refused (${describe(error)})`);
      });
    return this.metadata;
  }

  private configuration(metadata: oidc.ServerMetadata, auth: oidc.ClientAuth): oidc.Configuration {
    const config = new oidc.Configuration(metadata, this.provider.clientId, undefined, auth);
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    if (this.insecure) oidc.allowInsecureRequests(config);
    return config;
  }
}

/**
 * The library's error as a failure safe to show: the OAuth error code of the provider, or the library's check that
 * failed (its code and message name the check, never a token or the secret).
 */
function failureOf(error: unknown): OidcFailure {
  if (error instanceof OidcFailure) return error;
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError) {
    return new OidcFailure("provider_error", `the provider answered ${error.error}`);
  }
  // A 401 with a WWW-Authenticate challenge (e.g. a wrong client secret: invalid_client).
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    const code = error.cause.map((challenge) => challenge.parameters.error).find((value) => typeof value === "string" && /^[A-Za-z_]{1,64}$/.test(value));
    return new OidcFailure("provider_error", `the provider refused this node's client credentials (${code ?? `HTTP ${error.status}`})`);
  }
  return new OidcFailure("response_rejected", `the provider's answer did not pass the checks (${describe(error)})`);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return "unknown error";
}
