/**
 * @module gateway/router/credentials
 * Turns a service record's `auth` into what goes on the wire: the credential behind `credentialRef`
 * (`vault:<name>` read from the vault as the gateway itself, `env:<NAME>` from the server's environment)
 * and how it is presented (`auth.type`, `auth.header`). The values live only in memory, only as long as
 * `credentialCacheMs`, and are never logged: errors name the service, not the secret.
 *
 * The cache exists because every vault read is an audited, transactional operation; reading the vault on
 * every routed request would put a database write on the hot path and flood the audit log. Its cost: a
 * secret changed or deleted, or the vault locked, through this node is forgotten at once (`forget`, wired by
 * credential-freshness.ts, across instances by a cluster signal); a refused credential is forgotten at once too. What
 * is left to `credentialCacheMs`: a change no instance of this node made (an `env:` variable cannot change at run time).
 */
import type { ServiceRecord } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { Vault, VaultActor } from "../../vault/vault.js";

/** The gateway reading service credentials on its own behalf (audited as `kai-gateway`). */
export const GATEWAY_ACTOR: VaultActor = { tokenId: null, owner: "kai-gateway", scopes: ["vault:read"] };

/** How one service is to be called as far as authentication goes. */
export interface ResolvedAuth {
  /** For the connector's native auth header (Bearer, x-api-key, …). */
  readonly credential?: string;
  /** A credential that the record wants in another header (`auth.header`) or as HTTP Basic. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Every form of the secret that must be scrubbed from error text (raw, base64). */
  readonly secrets: readonly string[];
}

export interface CredentialResolverOptions {
  readonly vault?: Vault;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cacheMs: number;
  readonly now?: () => number;
}

const NONE: ResolvedAuth = { secrets: [] };

export class CredentialResolver {
  private readonly cache = new Map<string, { value: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();
  /**
   * Bumped by every `forget`: a read that started before it (it may hold the old value of a secret just changed)
   * answers its own request but is neither cached nor shared with requests that come after the forget.
   */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: CredentialResolverOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The auth to use for `record`; throws `vault_locked`, `vault_not_initialized` or `credential_unavailable`. */
  async resolve(record: Pick<ServiceRecord, "id" | "auth">): Promise<ResolvedAuth> {
    const { auth } = record;
    if (auth.type === "none" || !auth.credentialRef) return NONE;
    return this.present(auth, await this.value(record.id, auth.credentialRef));
  }

  /** How the credential value goes on the wire for this record's `auth`. */
  private present(auth: ServiceRecord["auth"], value: string): ResolvedAuth {
    if (auth.type === "basic") {
      // `credentialRef` holds `user:password`; Basic auth sends it base64-encoded.
      const encoded = Buffer.from(value, "utf8").toString("base64");
      return { headers: { authorization: `Basic ${encoded}` }, secrets: [value, encoded] };
    }
    if (auth.header && auth.header.toLowerCase() !== "authorization") return { headers: { [auth.header]: value }, secrets: [value] };
    return { credential: value, secrets: [value] };
  }

  /**
   * The same as `resolve` when the answer needs no read (no credential, or a cached one), without a promise;
   * undefined when `resolve` has to read the vault or environment.
   */
  resolveCached(record: Pick<ServiceRecord, "id" | "auth">): ResolvedAuth | undefined {
    const { auth } = record;
    if (auth.type === "none" || !auth.credentialRef) return NONE;
    const cached = this.cache.get(auth.credentialRef);
    if (!cached || cached.expiresAt <= this.now()) return undefined;
    return this.present(auth, cached.value);
  }

  /** Drops cached values (one reference, or all): the next request reads the vault or env again. */
  forget(credentialRef?: string): void {
    this.generation++;
    if (credentialRef === undefined) {
      this.cache.clear();
      this.pending.clear();
    } else {
      this.cache.delete(credentialRef);
      this.pending.delete(credentialRef);
    }
  }

  private value(serviceId: string, ref: string): Promise<string> {
    const cached = this.cache.get(ref);
    if (cached && cached.expiresAt > this.now()) return Promise.resolve(cached.value);
    // Concurrent requests for one reference share one vault read.
    const inFlight = this.pending.get(ref);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const read: Promise<string> = this.read(serviceId, ref).then(
      (value) => {
        if (this.pending.get(ref) === read) this.pending.delete(ref);
        if (this.options.cacheMs > 0 && generation === this.generation) this.cache.set(ref, { value, expiresAt: this.now() + this.options.cacheMs });
        return value;
      },
      (error: unknown) => {
        if (this.pending.get(ref) === read) this.pending.delete(ref);
        throw error;
      },
    );
    this.pending.set(ref, read);
    return read;
  }

  private async read(serviceId: string, ref: string): Promise<string> {
    const colon = ref.indexOf(":");
    const kind = ref.slice(0, colon);
    const name = ref.slice(colon + 1);
    if (kind === "env") {
      const value = this.options.env[name];
      if (value === undefined || value === "") throw unavailable(serviceId, "its environment variable is not set on this server");
      return value;
    }
    if (kind !== "vault") throw unavailable(serviceId, "its credentialRef is neither env: nor vault:");
    if (!this.options.vault) throw unavailable(serviceId, "this server has no vault");
    try {
      return (await this.options.vault.getSecret(name, GATEWAY_ACTOR)).value;
    } catch (error) {
      if (error instanceof ApiError && (error.code === "vault_locked" || error.code === "vault_not_initialized")) {
        throw new ApiError(error.code, `the credential of service ${serviceId} is in the vault, which is ${error.code === "vault_locked" ? "locked (kai vault unlock)" : "not initialised"}`);
      }
      throw unavailable(serviceId, error instanceof ApiError && error.code === "not_found" ? "its vault secret does not exist" : "the vault refused to hand it out");
    }
  }
}

const unavailable = (serviceId: string, why: string) => new ApiError("credential_unavailable", `the credential of service ${serviceId} is unavailable: ${why}`);
