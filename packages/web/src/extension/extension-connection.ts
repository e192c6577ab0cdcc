/**
 * @module extension/extension-connection
 * How the extension reaches a node: the address the user set, in token mode (an extension page is not on the
 * node's origin, so there are no cookies to keep a session in), the session's tokens in `chrome.storage.local`:
 * the extension's own storage, out of reach of web pages and kept across browser restarts. The refresh token
 * rotates on every renewal; each new pair is written back before it is used, and `null` (signed out, revoked)
 * removes it.
 *
 * Several extension pages may be open at once (popup, side panel, full tab). A rotated refresh token spends the
 * old one, so a page must not renew with a token another page already spent: every page watches the stored
 * session and, when another page wrote a new one, takes it (extension/ExtensionRoot.tsx builds a new connection).
 */
import type { SessionTokens } from "@kai/sdk";
import { tokenConnection, type Connection } from "../api/connection";
import { chromeApi, type StorageChangeListener } from "./browser-api";

export const NODE_URL_KEY = "kai.nodeUrl";
export const SESSION_KEY = "kai.session";
export const SELECTED_SERVICE_KEY = "kai.selectedService";

/** The node's address as entered: an http(s) origin (path, query and credentials dropped), or an error message. */
export function parseNodeUrl(input: string): { url: string } | { error: string } {
  let parsed: URL;
  try {
    parsed = new URL(input.trim());
  } catch {
    return { error: "Enter the node's address, such as http://localhost:7070." };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return { error: "The address must start with http:// or https://." };
  if (parsed.username !== "" || parsed.password !== "") return { error: "Leave user and password out of the address: sign in instead." };
  return { url: parsed.origin };
}

function isSession(value: unknown): value is SessionTokens {
  const v = value as Partial<SessionTokens> | undefined;
  return typeof v?.accessToken === "string" && typeof v.refreshToken === "string" && typeof v.accessExpiresAt === "string" && typeof v.sessionExpiresAt === "string";
}

export interface StoredState {
  nodeUrl?: string;
  session?: SessionTokens;
}

export async function readStored(): Promise<StoredState> {
  const stored = await chromeApi().storage.local.get([NODE_URL_KEY, SESSION_KEY]);
  const nodeUrl = typeof stored[NODE_URL_KEY] === "string" ? stored[NODE_URL_KEY] : undefined;
  return { ...(nodeUrl !== undefined ? { nodeUrl } : {}), ...(isSession(stored[SESSION_KEY]) ? { session: stored[SESSION_KEY] } : {}) };
}

/**
 * Keeps the node's address. Another node's session is dropped (its tokens mean nothing there). The extension
 * may reach localhost by its manifest; any other origin needs the user's permission, asked here (this must run
 * in the click that submitted the address: Chrome asks only during a user gesture).
 */
export async function saveNodeUrl(url: string): Promise<{ ok: true } | { ok: false; error: string }> {
  const api = chromeApi();
  const origins = [`${url}/*`];
  if (!(await api.permissions.contains({ origins })) && !(await api.permissions.request({ origins }))) {
    return { ok: false, error: "The extension needs your permission to reach this address." };
  }
  const { nodeUrl } = await readStored();
  if (nodeUrl !== url) await api.storage.local.remove([SESSION_KEY]);
  await api.storage.local.set({ [NODE_URL_KEY]: url });
  return { ok: true };
}

/** Forgets the node (and its session): the extension asks for an address again. */
export async function forgetNode(): Promise<void> {
  await chromeApi().storage.local.remove([NODE_URL_KEY, SESSION_KEY, SELECTED_SERVICE_KEY]);
}

/** The connection of this page: the stored node and session; its renewals written back to storage. */
export function extensionConnection(state: { nodeUrl: string; session?: SessionTokens }, onWritten: (tokens: SessionTokens | null) => void): Connection {
  const storage = chromeApi().storage.local;
  return tokenConnection({
    url: state.nodeUrl,
    ...(state.session ? { session: state.session } : {}),
    store: async (tokens) => {
      // Noted before writing, so that this page's own write is not taken for another page's.
      onWritten(tokens);
      if (tokens === null) await storage.remove([SESSION_KEY]);
      else await storage.set({ [SESSION_KEY]: tokens });
    },
  });
}

/** Calls `listener` with the stored state whenever the node or the session changes in storage (any page). */
export function onStoredChange(listener: (state: StoredState, changed: string[]) => void): () => void {
  const api = chromeApi();
  const handler: StorageChangeListener = (changes, area) => {
    if (area !== "local") return;
    const changed = Object.keys(changes).filter((key) => key === NODE_URL_KEY || key === SESSION_KEY || key === SELECTED_SERVICE_KEY);
    if (changed.length > 0) void readStored().then((state) => listener(state, changed));
  };
  api.storage.onChanged.addListener(handler);
  return () => api.storage.onChanged.removeListener(handler);
}

export async function readSelectedService(): Promise<string | undefined> {
  const stored = await chromeApi().storage.local.get([SELECTED_SERVICE_KEY]);
  return typeof stored[SELECTED_SERVICE_KEY] === "string" ? stored[SELECTED_SERVICE_KEY] : undefined;
}

export async function selectService(id: string): Promise<void> {
  await chromeApi().storage.local.set({ [SELECTED_SERVICE_KEY]: id });
}
