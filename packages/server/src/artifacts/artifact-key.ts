/**
 * @module artifacts/artifact-key
 * The key that encrypted artifacts' per-blob keys are wrapped under (encrypting-blob-store.ts), kept in the vault as a
 * secret: `artifacts.encryption.keySecret`, by default `#system/artifacts-key` (no token can address a `#system/`
 * secret), 32 random bytes in base64, made at first use. The secret's value never changes: the vault's own rotation
 * re-encrypts the secret under new data keys and leaves the value as it was, so every blob stays readable.
 *
 * The value is read once per unlock (a vault read is an audited, fsynced write) and kept as a Buffer only while the
 * vault is unlocked: locking it zeroes the copy here too, and from then on every encrypted read or write is a 503
 * `vault_locked` until it is unlocked again.
 */
import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { ApiError } from "../errors.js";
import { SERVER_ACTOR, SYSTEM_SECRET_PREFIX, type VaultService } from "../vault/vault-service.js";

export const DEFAULT_ARTIFACT_KEY_SECRET = `${SYSTEM_SECRET_PREFIX}artifacts-key`;

/** The wrapping key and its identifier (stored in every encrypted blob's header). */
export interface ArtifactKey {
  /** 8 bytes: which key wrapped a blob's key, so a blob under another key fails clearly. */
  readonly id: Buffer;
  /** 32 bytes, AES-256-GCM. */
  readonly wrapping: Buffer;
}

export interface ArtifactKeySource {
  /** The current key; throws 503 `vault_locked` while the vault is locked. */
  current(): Promise<ArtifactKey>;
  /** Forgets the cached key (read again at the next use). */
  forget(): void;
}

/** The key from 32 secret bytes: a wrapping key derived by HKDF (the secret's bytes are used for nothing else). */
export function artifactKeyFrom(secret: Buffer): ArtifactKey {
  if (secret.length !== 32) throw new Error("the artifact encryption key must be 32 bytes (base64 in the vault secret)");
  const wrapping = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "kai-artifacts/1 wrap", 32));
  const id = createHash("sha256").update("kai-artifacts/1 key-id").update(wrapping).digest().subarray(0, 8);
  return { id, wrapping };
}

const locked = () => new ApiError("vault_locked", "the vault is locked: encrypted artifacts cannot be stored or read until it is unlocked (`kai vault unlock`)");

export class VaultArtifactKey implements ArtifactKeySource {
  private cached: ArtifactKey | null = null;
  private loading: Promise<ArtifactKey> | null = null;

  constructor(
    private readonly vault: VaultService,
    private readonly secretName: string = DEFAULT_ARTIFACT_KEY_SECRET,
  ) {
    vault.onLockChange((unlocked) => {
      if (!unlocked) this.forget();
    });
  }

  async current(): Promise<ArtifactKey> {
    if (!this.vault.isUnlocked) {
      this.forget();
      throw locked();
    }
    if (this.cached) return this.cached;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  forget(): void {
    if (this.cached) this.cached.wrapping.fill(0);
    this.cached = null;
  }

  private async load(): Promise<ArtifactKey> {
    let value: string;
    try {
      value = (await this.vault.getSecret(this.secretName, SERVER_ACTOR)).value;
    } catch (error) {
      if (error instanceof ApiError && error.code === "vault_locked") throw locked();
      if (!(error instanceof ApiError && error.code === "not_found")) throw error;
      // A named secret is the operator's to make (docs/data/artifacts.md); the default one is made here, once.
      if (this.secretName !== DEFAULT_ARTIFACT_KEY_SECRET) {
        throw new ApiError("unavailable", "the vault secret named by artifacts.encryption.keySecret does not exist: put 32 random bytes (base64) there");
      }
      const fresh = randomBytes(32);
      await this.vault.putSecret(this.secretName, { value: fresh.toString("base64"), description: "the key that artifact encryption keys are wrapped under (never change its value)" }, SERVER_ACTOR);
      fresh.fill(0);
      // Read back rather than keep `fresh`: another instance making it at the same moment may have written last.
      value = (await this.vault.getSecret(this.secretName, SERVER_ACTOR)).value;
    }
    const bytes = Buffer.from(value, "base64");
    try {
      const key = artifactKeyFrom(bytes);
      if (!this.vault.isUnlocked) throw locked();
      this.cached = key;
      return key;
    } finally {
      bytes.fill(0);
    }
  }
}
