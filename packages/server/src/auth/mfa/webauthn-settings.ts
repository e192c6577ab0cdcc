/**
 * @module auth/mfa/webauthn-settings
 * The WebAuthn relying party: its id (a domain: browsers refuse IP addresses), its name, and the origins whose
 * signatures are accepted. Unset values derive from where the server listens, so a node on `localhost:7070`
 * works out of the box; anything reached by another name (a domain, a proxy) must set `auth.mfa.webauthn`.
 * The port may only be known after listening (port 0), so the settings are resolved when first used.
 */
import { isIP } from "node:net";
import type { MfaConfig } from "../../config/mfa-config.js";

export interface WebAuthnSettings {
  rpId: string;
  rpName: string;
  origins: string[];
  challengeTtlMs: number;
}

export function resolveWebAuthnSettings(config: MfaConfig["webauthn"], server: { host: string; port: () => number }): () => WebAuthnSettings {
  let resolved: WebAuthnSettings | undefined;
  return () => {
    if (resolved) return resolved;
    // 0.0.0.0, ::, 127.0.0.1 …: a browser reaches those as localhost, the one non-domain RP id it accepts.
    const rpId = config.rpId ?? (isIP(server.host) !== 0 || server.host === "" ? "localhost" : server.host);
    const port = server.port();
    const settings = {
      rpId,
      rpName: config.rpName,
      origins: config.origins?.map((origin) => new URL(origin).origin) ?? defaultOrigins(rpId, port),
      challengeTtlMs: config.challengeTtlSeconds * 1000,
    };
    // Not kept while the port is still 0 (asked before the server listened).
    if (port !== 0 || config.origins) resolved = settings;
    return settings;
  };
}

function defaultOrigins(rpId: string, port: number): string[] {
  if (port === 443) return [`https://${rpId}`];
  if (port === 80) return [`http://${rpId}`];
  return [`http://${rpId}:${port}`, `https://${rpId}:${port}`];
}
