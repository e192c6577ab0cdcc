/**
 * @module test/helpers/oidc-provider
 * A real OpenID Connect provider for the SSO tests: `oidc-provider` (a certified OP implementation) in this process,
 * on a free loopback port, with one confidential client (PKCE required) and test accounts whose claims — groups
 * included — a test may change between sign-ins. Its development login and consent pages are driven with plain
 * HTTP requests by `TestBrowser`, a fetch with a cookie jar that follows redirects by hand, as a browser would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
// @ts-expect-error -- oidc-provider ships no type declarations; the few members used are typed by OidcProviderLike below.
import ProviderModule from "oidc-provider";

/** The part of oidc-provider's `Provider` these tests use. */
interface OidcProviderLike {
  callback(): (req: unknown, res: unknown) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProviderLike;
const Provider = ProviderModule as ProviderConstructor;

/** The claims of a test account (`sub` is the account id). */
export interface TestAccount {
  preferred_username: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[];
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by id (= `sub`); change one's claims and the next sign-in sees them. */
  accounts: Map<string, TestAccount>;
  /** Errors the provider reported on its side (e.g. a refused code redemption), for assertions. */
  serverErrors: string[];
  close(): Promise<void>;
}

export interface TestOidcProviderOptions {
  /** The client's registered redirect URIs. */
  redirectUris: string[];
  accounts?: Record<string, TestAccount>;
  clientId?: string;
  clientSecret?: string;
}

/**
 * A provider whose address is taken but which does not answer yet: a relying party's config names the issuer before
 * the provider can be configured with the relying party's callback URL. The port is held from the start — choosing a
 * free port and binding it later lost it to another test file now and then (EADDRINUSE).
 */
export interface PendingOidcProvider {
  issuer: string;
  /** Configures the provider and starts answering on the address already held. */
  start(options: TestOidcProviderOptions): TestOidcProvider;
  /** Releases the address (when the start never comes). */
  close(): Promise<void>;
}

/** Binds a free loopback port for a provider started later by `start`. */
export async function reserveOidcProvider(): Promise<PendingOidcProvider> {
  // Until it starts, the provider answers as one that is down would, rather than leaving a caller hanging.
  const notYet = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(503).end();
  const server: Server = createServer(notYet);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const start = (options: TestOidcProviderOptions) => {
    server.off("request", notYet);
    return serveProvider(server, issuer, options, close);
  };
  return { issuer, start, close };
}

function serveProvider(server: Server, issuer: string, options: TestOidcProviderOptions, close: () => Promise<void>): TestOidcProvider {
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  const clientId = options.clientId ?? "kai-test";
  const clientSecret = options.clientSecret ?? `secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    // Groups travel with the profile scope (as many providers do); UserInfo carries them.
    claims: { openid: ["sub"], profile: ["name", "preferred_username", "groups"], email: ["email", "email_verified"] },
    cookies: { keys: ["oidc-test-cookie-key"] },
    // Explicit lifetimes (seconds): the defaults work but print a notice each.
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    findAccount: (_ctx: unknown, id: string) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) };
    },
  });
  const serverErrors: string[] = [];
  for (const event of ["grant.error", "server_error", "userinfo.error"]) {
    provider.on(event, (_ctx: unknown, error: unknown) => serverErrors.push(`${event}: ${error instanceof Error ? error.message : String(error)}`));
  }
  server.on("request", provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    serverErrors,
    close,
  };
}

/**
 * A browser as far as sign-in needs one: cookies per origin (names and values; paths and expiry are not modelled,
 * a cookie set with Max-Age=0 is dropped), redirects followed by the test, never by fetch.
 */
export class TestBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  /** One request with this origin's cookies; the answer's Set-Cookie headers are kept. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const jar = this.jar(target.origin);
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set("cookie", [...jar].map(([name, value]) => `${name}=${value}`).join("; "));
    const response = await fetch(target, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || /^\s*expires=thu, 01 jan 1970/i.test(attribute));
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  /** The cookies this browser holds for an origin. */
  cookies(origin: string): Map<string, string> {
    return new Map(this.jar(new URL(origin).origin));
  }

  /** Adds or replaces a cookie (tests tampering with what a browser holds). */
  setCookie(origin: string, name: string, value: string): void {
    this.jar(new URL(origin).origin).set(name, value);
  }

  private jar(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (!jar) this.jars.set(origin, (jar = new Map()));
    return jar;
  }
}

/**
 * Goes through the provider as a person would: from the authorization URL, through its login page (signing in as
 * `login`) and consent page, until the provider redirects to a URL outside itself — the relying party's callback
 * with the code, which is returned without being visited. `deny` presses "abort" on the login page instead.
 */
export async function authorizeAtProvider(browser: TestBrowser, authorizationUrl: string, login: string, options: { deny?: boolean } = {}): Promise<string> {
  const issuerOrigin = new URL(authorizationUrl).origin;
  let url = authorizationUrl;
  for (let step = 0; step < 20; step++) {
    if (new URL(url).origin !== issuerOrigin) return url;
    const response = await browser.request(url);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${page.slice(0, 500)}`);
    const prompt = /name="prompt" value="(login|consent)"/.exec(page)?.[1];
    if (!prompt) throw new Error(`unexpected provider page: ${page.slice(0, 500)}`);
    if (options.deny) {
      url = `${url.replace(/\/$/, "")}/abort`;
      continue;
    }
    const form = prompt === "login" ? new URLSearchParams({ prompt, login, password: "any password" }) : new URLSearchParams({ prompt });
    const submitted = await browser.request(url, { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
    const next = submitted.headers.get("location");
    if (!next) throw new Error(`the provider's ${prompt} form answered ${submitted.status}: ${(await submitted.text()).slice(0, 500)}`);
    url = new URL(next, url).href;
  }
  throw new Error("the provider did not redirect back within 20 steps");
}
