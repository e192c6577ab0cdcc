/**
 * @module auth/sso/sso-service
 * Single sign-on with OpenID Connect (issue 14): the providers of `auth.sso`, a sign-in's start (authorization
 * request, state kept as a one-time challenge bound to the browser) and its callback (code redeemed and the ID
 * token checked by `openid-client`, claims mapped to a user and roles, a session started through SPINE's
 * `SessionStarter`, method `sso`, which records the `sign_in` event naming the provider). Every failure is a `sign_in_failed` event.
 *
 * Users: the link between a provider's account and a user is the subject `<providerId>|<sub>` (never the email or
 * the username, which can change or be reused). At the first sign-in a user is created (kind person, no password)
 * when `autoCreate` is on; a username already taken by another user is refused, never linked silently (that would
 * hand an existing account to whoever controls the same name at the provider). At every later sign-in the user's
 * roles are set to what the claims map to: the provider is the source of truth for its users' roles, and an
 * admin's change to them lasts until their next SSO sign-in. A disabled user is refused (`account_disabled`).
 */
import { randomBytes } from "node:crypto";
import type { SsoProviderInfo } from "@kai/protocol";
import type { SsoConfig, SsoProvider } from "../../config/sso-config.js";
import { ApiError } from "../../errors.js";
import { IdentityConflict, type IdentityStore, type UserRow } from "../../storage/contracts/identity-store.js";
import type { IssuedSession, SessionStarter } from "../sign-in-ports.js";
import { newUserRow } from "../users/new-user-row.js";
import type { SecurityEventInput } from "../security-log.js";
import { displayNameFromClaims, domainRefusal, rolesFromClaims, ssoSubjectOf, usedSecondFactor, usernameFromClaims, type Claims } from "./claim-mapping.js";
import { OidcFailure, OidcRelyingParty } from "./oidc-relying-party.js";
import { safeLoopbackRedirect, safeReturnPath } from "./return-path.js";
import { newBinding, SsoStates, type SsoStateStore } from "./sso-state.js";

/** The store operations SSO needs: its one-time states and the users it links. */
export type SsoStore = SsoStateStore & Pick<IdentityStore, "getUser" | "getUserBySsoSubject" | "getUserByUsername" | "insertUser" | "updateUser">;

export interface SsoServiceDeps {
  settings: SsoConfig;
  store: SsoStore;
  sessions: SessionStarter;
  securityLog: { record(event: SecurityEventInput): Promise<unknown> };
  /**
   * Tells the node that a user was created or their roles changed (the composition root binds it to the access
   * table, which caps every token by the user's current roles, and through it to the other instances).
   */
  userChanged: (user: UserRow) => Promise<void>;
  /** Reads a secret of the node's vault by name (bound to the vault by the composition root); never logged. */
  readVaultSecret: (name: string) => Promise<string>;
  /** For `clientSecret: { env }` (development). */
  env?: NodeJS.ProcessEnv;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
}

/** A started sign-in: where to send the browser, and the binding cookie to set for this state. */
export interface SsoStart {
  location: string;
  state: string;
  binding: string;
  maxAgeSeconds: number;
}

/** What the callback's request carries (the query as received, the state's binding cookie, who is asking). */
export interface SsoCallbackInput {
  query: Record<string, string>;
  /** Reads the binding cookie of a state (its name depends on the state). */
  binding: (state: string) => string | undefined;
  userAgent: string | null;
  address: string | null;
}

/**
 * A finished callback: a browser's session (cookie mode, then on to `returnPath`), or, for the CLI (token mode), the
 * loopback URL with a one-time exchange code to send the browser to (the session starts at the exchange).
 */
export type SsoSignedIn =
  | { mode: "cookie"; issued: IssuedSession; returnPath: string; user: UserRow }
  | { mode: "token"; location: string; user: UserRow };

/** What the CLI asks at start (token mode). */
export interface SsoCliStart {
  /** Its loopback address (RFC 8252). */
  redirect: string | undefined;
  /** base64url SHA-256 of its verifier. */
  challenge: string | undefined;
}

/** OAuth error codes are [A-Za-z_]; anything else in `error` is not repeated back. */
const OAUTH_ERROR_CODE = /^[A-Za-z_]{1,64}$/;

export class SsoService {
  private readonly parties = new Map<string, OidcRelyingParty>();
  private readonly states: SsoStates;
  private readonly now: () => number;

  constructor(private readonly deps: SsoServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.states = new SsoStates(deps.store, deps.settings.stateTtlSeconds * 1000, this.now);
    for (const provider of deps.settings.providers) {
      this.parties.set(provider.id, new OidcRelyingParty(provider, () => this.clientSecret(provider)));
    }
  }

  /** The providers a sign-in page offers: id and display name only. */
  providers(): SsoProviderInfo[] {
    return this.deps.settings.providers.map((provider) => ({ id: provider.id, displayName: provider.displayName }));
  }

  /**
   * Starts a sign-in at `providerId`. `origin` is the scheme and host the request came to (used for the callback URL
   * when neither the provider's `redirectUri` nor `auth.sso.publicUrl` is set).
   */
  async start(providerId: string, request: { returnTo?: string | undefined; origin: string; cli?: SsoCliStart }): Promise<SsoStart> {
    const party = this.party(providerId);
    const returnPath = safeReturnPath(request.returnTo);
    if (returnPath === null) {
      throw new ApiError("validation_failed", "return must be a path on this server (starting with a single /)", [{ path: "return", message: "must be a path on this server" }]);
    }
    let cli: { redirect: string; challenge: string } | undefined;
    if (request.cli) {
      const redirect = safeLoopbackRedirect(request.cli.redirect);
      if (redirect === null) throw new ApiError("validation_failed", "mode=token needs redirect, an http://127.0.0.1:<port>/… address on this machine", [{ path: "redirect", message: "must be a loopback http URL with a port" }]);
      if (request.cli.challenge === undefined) throw new ApiError("validation_failed", "mode=token needs challenge, the base64url SHA-256 of the verifier", [{ path: "challenge", message: "required with mode=token" }]);
      cli = { redirect, challenge: request.cli.challenge };
    }
    const redirectUri = party.provider.redirectUri ?? `${(this.deps.settings.publicUrl ?? request.origin).replace(/\/+$/, "")}/api/auth/sso/${providerId}/callback`;
    let authorization;
    try {
      authorization = await party.authorizationRequest(redirectUri);
    } catch (error) {
      const failure = error instanceof OidcFailure ? error : new OidcFailure("discovery_failed", "the provider could not be reached");
      this.deps.logger.warn({ category: "sso", provider: providerId, reason: failure.reason, err: failure.message }, "an SSO sign-in could not start");
      throw new ApiError("sso_failed", `signing in with ${party.provider.displayName} is not possible right now: ${failure.message}`);
    }
    const binding = newBinding();
    await this.states.put(authorization.state, { provider: providerId, codeVerifier: authorization.codeVerifier, nonce: authorization.nonce, returnPath, redirectUri, mode: cli ? "token" : "cookie", ...(cli ? { cli } : {}) }, binding);
    return { location: authorization.url.href, state: authorization.state, binding, maxAgeSeconds: this.deps.settings.stateTtlSeconds };
  }

  /** Finishes a sign-in: the provider's answer checked, the user found or created, a session started. */
  async callback(providerId: string, input: SsoCallbackInput): Promise<SsoSignedIn> {
    const party = this.party(providerId);
    const provider = party.provider;
    const fail = async (reason: string, message: string, user?: UserRow): Promise<never> => {
      await this.record({ type: "sign_in_failed", outcome: "failure", userId: user?.id ?? null, username: user?.username ?? null, address: input.address, details: { method: "sso", provider: providerId, reason } });
      throw new ApiError("sso_failed", message);
    };

    const state = input.query.state;
    if (state === undefined || state === "") return fail("missing_state", "the provider's answer has no state: start the sign-in again");
    const started = await this.states.take(state, providerId, input.binding(state));
    if (!started) return fail("unknown_state", "this sign-in is unknown, has expired, was already used or was started in another browser: start it again");

    const error = input.query.error;
    if (error !== undefined) {
      const code = OAUTH_ERROR_CODE.test(error) ? error : "an error";
      return fail("provider_refused", code === "access_denied" ? `the sign-in was cancelled or refused at ${provider.displayName}` : `${provider.displayName} answered ${code}: start the sign-in again`);
    }

    const callbackUrl = new URL(started.redirectUri);
    for (const [name, value] of Object.entries(input.query)) callbackUrl.searchParams.append(name, value);
    let claims: Claims;
    try {
      claims = await party.redeem(callbackUrl, { state, nonce: started.nonce, codeVerifier: started.codeVerifier });
    } catch (caught) {
      const failure = caught instanceof OidcFailure ? caught : new OidcFailure("response_rejected", "the provider's answer could not be checked");
      this.deps.logger.warn({ category: "sso", provider: providerId, reason: failure.reason, err: failure.detail ?? failure.message }, "an SSO sign-in failed");
      return fail(failure.reason, `signing in with ${provider.displayName} failed: ${failure.message}`);
    }
    const sub = claims.sub;
    if (typeof sub !== "string" || sub === "") return fail("missing_subject", "the provider's ID token has no subject");

    const refused = domainRefusal(provider, claims);
    if (refused) return fail(refused.reason, refused.message);

    const roles = rolesFromClaims(provider, claims);
    const subject = ssoSubjectOf(provider, sub);
    let user = await this.deps.store.getUserBySsoSubject(subject);
    let created = false;
    if (!user) {
      const made = await this.createUser(provider, subject, claims, roles);
      if ("reason" in made) return fail(made.reason, made.message);
      user = made.user;
      created = made.created;
    }
    if (user.state !== "active") {
      await this.record({ type: "sign_in_failed", outcome: "failure", userId: user.id, username: user.username, address: input.address, details: { method: "sso", provider: providerId, reason: "account_disabled" } });
      throw new ApiError("account_disabled", "this account is disabled");
    }
    if (!created) user = await this.syncRoles(provider, user, roles);

    const mfa = usedSecondFactor(claims);
    if (started.mode === "token" && started.cli) {
      // The CLI: a one-time code to its loopback address; the session starts when it proves its verifier.
      const code = randomBytes(32).toString("base64url");
      await this.states.putExchange(code, { provider: providerId, userId: user.id, mfa, challenge: started.cli.challenge });
      const location = new URL(started.cli.redirect);
      location.searchParams.set("code", code);
      return { mode: "token", location: location.href, user };
    }
    // The session starter records the `sign_in` security event (method sso) for every way of signing in.
    const issued = await this.deps.sessions.start(user, { method: "sso", mfa, userAgent: input.userAgent, address: input.address, details: { provider: providerId } });
    return { mode: "cookie", issued, returnPath: started.returnPath, user };
  }

  /** The CLI's exchange: its one-time code and verifier for a session (token mode). */
  async exchange(input: { code: string; verifier: string; userAgent: string | null; address: string | null }): Promise<IssuedSession> {
    const pending = await this.states.takeExchange(input.code, input.verifier);
    const user = pending ? await this.deps.store.getUser(pending.userId) : null;
    if (!pending || !user) {
      await this.record({ type: "sign_in_failed", outcome: "failure", address: input.address, details: { method: "sso", reason: "unknown_exchange" } });
      throw new ApiError("sso_failed", "this exchange code is unknown, has expired, was already used or does not match the verifier: sign in again");
    }
    if (user.state !== "active") {
      await this.record({ type: "sign_in_failed", outcome: "failure", userId: user.id, username: user.username, address: input.address, details: { method: "sso", provider: pending.provider, reason: "account_disabled" } });
      throw new ApiError("account_disabled", "this account is disabled");
    }
    return this.deps.sessions.start(user, { method: "sso", mfa: pending.mfa, userAgent: input.userAgent, address: input.address, details: { provider: pending.provider } });
  }

  /** A new user for a first sign-in (or the one another instance created a moment ago), or why there is none. */
  private async createUser(provider: SsoProvider, subject: string, claims: Claims, roles: string[]): Promise<{ user: UserRow; created: boolean } | { reason: string; message: string }> {
    if (!provider.autoCreate) {
      return { reason: "no_account", message: `no user of this node is linked to your ${provider.displayName} account: ask an administrator` };
    }
    const name = usernameFromClaims(provider, claims);
    if ("reason" in name) return name;
    const taken = { reason: "username_taken", message: `the username ${name.username} belongs to another user of this node: ask an administrator` };
    if (await this.deps.store.getUserByUsername(name.username)) return taken;
    const user = newUserRow({ username: name.username, kind: "person", displayName: displayNameFromClaims(provider, claims), ssoSubject: subject, roles }, new Date(this.now()).toISOString());
    try {
      await this.deps.store.insertUser(user);
      await this.deps.userChanged(user);
    } catch (error) {
      if (!(error instanceof IdentityConflict)) throw error;
      // Two first sign-ins at once (two tabs, two instances): the other one created the user.
      const existing = error.field === "ssoSubject" ? await this.deps.store.getUserBySsoSubject(subject) : null;
      return existing ? { user: existing, created: false } : taken;
    }
    await this.record({ type: "user_created", outcome: "success", userId: user.id, username: user.username, actor: `sso:${provider.id}`, details: { method: "sso", provider: provider.id, roles } });
    return { user, created: true };
  }

  /** Sets the user's roles to what the provider's claims give now; a change is a security event. */
  private async syncRoles(provider: SsoProvider, user: UserRow, roles: string[]): Promise<UserRow> {
    const before = [...user.roles].sort();
    if (before.length === roles.length && before.every((role, i) => role === roles[i])) return user;
    const updated = await this.deps.store.updateUser(user.id, { roles, updatedAt: new Date(this.now()).toISOString() });
    if (!updated) throw new ApiError("sso_failed", "the user was deleted during the sign-in: start it again");
    await this.deps.userChanged(updated);
    await this.record({ type: "role_changed", outcome: "success", userId: user.id, username: user.username, actor: `sso:${provider.id}`, details: { before, after: roles, provider: provider.id } });
    return updated;
  }

  private party(providerId: string): OidcRelyingParty {
    const party = this.parties.get(providerId);
    if (!party) throw new ApiError("not_found", `no SSO provider named ${providerId}`);
    return party;
  }

  /** The provider's client secret, from the vault (or the environment in development); never logged. */
  private async clientSecret(provider: SsoProvider): Promise<string> {
    if (provider.clientSecret.vault !== undefined) return this.deps.readVaultSecret(provider.clientSecret.vault);
    const name = provider.clientSecret.env ?? "";
    const value = (this.deps.env ?? process.env)[name];
    if (value === undefined || value === "") throw new Error(`the environment variable ${name} is not set`);
    return value;
  }

  private async record(event: SecurityEventInput): Promise<void> {
    await this.deps.securityLog.record(event);
  }
}
