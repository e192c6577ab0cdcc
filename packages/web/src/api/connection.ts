/**
 * @module api/connection
 * How the app reaches a node: the SDK client and how a session is kept. In the browser tab the app is served by
 * the node itself: same origin, session in HttpOnly cookies (nothing readable by scripts), CSRF token in memory.
 * The extension talks to a node at a URL the user sets, in token mode, its refresh token in extension storage
 * (extension/extension-connection.ts). Every view gets the client from `useClient()`, never builds its own.
 */
import { createClient, type KaiClient, type SessionTokens } from "@kai/sdk";

export interface Connection {
  /** The node's base URL (the page's origin in the tab). */
  readonly url: string;
  readonly client: KaiClient;
  /** `cookie`: the tab (same origin); `token`: the extension and tests (bearer tokens). */
  readonly mode: "cookie" | "token";
  /** Resumes a session after a page load: true when there was one (cookie or stored refresh token). */
  resume(): Promise<boolean>;
  /** Registers a listener for the session's end (sign-out, revoked, expired); returns its removal. */
  onSessionEnd(listener: () => void): () => void;
}

/** Listeners for a session's end, shared by the connection kinds. */
export function sessionEndListeners() {
  const listeners = new Set<() => void>();
  return {
    add(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify() {
      for (const listener of [...listeners]) listener();
    },
  };
}

/** The tab's connection: the node that served the page, a cookie session. */
export function sameOriginConnection(origin: string = window.location.origin): Connection {
  const ended = sessionEndListeners();
  const client = createClient({
    url: origin,
    cookieSession: true,
    onTokens: (tokens) => {
      if (tokens === null) ended.notify();
    },
  });
  return {
    url: origin,
    client,
    mode: "cookie",
    async resume() {
      try {
        await client.auth.refresh();
        return true;
      } catch {
        return false;
      }
    },
    onSessionEnd: ended.add,
  };
}

/**
 * A token-mode connection (the extension, component tests): a fixed token, or a session whose rotated tokens are
 * handed to `store`.
 */
export function tokenConnection(options: {
  url: string;
  token?: string;
  session?: SessionTokens;
  store?: (tokens: SessionTokens | null) => void | Promise<void>;
}): Connection {
  const ended = sessionEndListeners();
  const client = createClient({
    url: options.url,
    token: options.session?.accessToken ?? options.token,
    refreshToken: options.session?.refreshToken,
    accessExpiresAt: options.session?.accessExpiresAt,
    sessionExpiresAt: options.session?.sessionExpiresAt,
    onTokens: async (tokens) => {
      await options.store?.(tokens);
      if (tokens === null) ended.notify();
    },
  });
  return {
    url: options.url,
    client,
    mode: "token",
    async resume() {
      if (options.token === undefined && options.session === undefined) return false;
      try {
        await client.auth.validate();
        return true;
      } catch {
        return false;
      }
    },
    onSessionEnd: ended.add,
  };
}
