/**
 * @module vault/vault-secrets
 * Named secrets: put (a new version; the last `keepVersions` kept), get (decrypt the current version and
 * stamp last-used in the same transaction as the audit entry), list (names and metadata only, filtered by
 * the token's patterns, never the server's own `#system/` secrets), delete, and the credential stored with
 * a service registration. A read checks the secret's authenticated head (secret-integrity.ts) before its
 * expiry or value is trusted; a tampered secret is refused as `vault_tampered`, logged by name, never by value.
 * Listing shows the metadata as stored: it needs no key, so it cannot check it. Secret operations hold the shared lock; encrypting ones may then trigger an
 * automatic rotation (vault-rotation.ts) once the lock is released.
 *
 * Nothing is cached: every read goes to the store, so a secret written on one instance is read on every
 * other at once. A put encrypts only under the active key of the header still in the store (checked inside
 * its transaction), so an instance that missed another's rotation cannot store a secret under a retired key.
 */
import { PutSecretRequestSchema, type PutSecretRequest, type SecretInfo, type SecretValueResponse } from "@kai/protocol";
import type { ListedSecret, SecretMetaRow } from "../storage/contracts/vault-store.js";
import type { VaultActor } from "./vault.js";
import { decryptSecret, encryptSecret } from "./crypto/secret-format.js";
import { checkHead, sealHead } from "./secret-integrity.js";
import { nameAllowed } from "./secret-patterns.js";
import { SYSTEM_SECRET_PREFIX, type UnlockedKeys, type VaultCore } from "./vault-core.js";
import type { VaultRotation } from "./vault-rotation.js";
import { integrityError, Refusal, secretNotFound, validation } from "./vault-errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `services/<id>/credential`, with the id's `_ : @` escaped (`_5F _3A _40`): secret names do not allow `:`/`@`. */
export function serviceCredentialName(serviceId: string): string {
  const segment = serviceId.replace(/[_:@]/g, (char) => `_${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `services/${segment}/credential`;
}

const SERVICE_CREDENTIAL_OP = "service-credential.store";

export class VaultSecrets {
  constructor(
    private readonly core: VaultCore,
    private readonly rotation: VaultRotation,
  ) {}

  putSecret(name: string, request: PutSecretRequest, actor: VaultActor): Promise<SecretInfo> {
    return this.putAs("secret.put", name, request, actor, true);
  }

  getSecret(name: string, actor: VaultActor): Promise<SecretValueResponse> {
    const { core } = this;
    const op = "secret.get";
    return core.lockState.shared(async () => {
      await core.checkName(actor, op, name);
      await core.authorize(actor, op, name, ["vault:read"]);
      const state = await core.requireUnlocked(actor, op, name);
      const stored = await core.deps.store.getSecret(name);
      if (!stored) return core.audit.refuse(actor, op, name, "failed", "not_found", secretNotFound());
      const keyFor = (version: number) => state.keyring.keyFor(version);
      // The head first: the expiry and the current version are only trusted once their MAC verified.
      const checked = checkHead(stored, keyFor);
      if ("what" in checked) return core.tampered(actor, op, name, `secret ${name}: ${checked.what}`, integrityError());
      // An expired secret looks exactly like a missing one to the caller; the audit entry says which.
      if (this.expired(stored.meta)) return core.audit.refuse(actor, op, name, "failed", "expired", secretNotFound());
      const { current } = checked;
      let value: string;
      try {
        const plaintext = decryptSecret(current.ciphertext, name, current.version, keyFor);
        try {
          value = utf8.decode(plaintext);
        } finally {
          plaintext.fill(0);
        }
      } catch {
        return core.tampered(actor, op, name, `secret ${name}: its current ciphertext failed to decrypt`, integrityError());
      }
      const at = core.iso();
      await core.audit.write(actor, op, name, (tx) => {
        tx.touchSecret(name, at, actor.owner);
        return { reason: null, value: undefined };
      });
      const versions = stored.versions.map((row) => row.version);
      return { ...this.info({ ...stored.meta, lastUsedAt: at, lastUsedBy: actor.owner, versions }), value };
    });
  }

  /** Metadata only, so it needs neither the keys nor the lock: it works while the vault is locked. */
  async listSecrets(actor: VaultActor): Promise<SecretInfo[]> {
    const { core } = this;
    const op = "secret.list";
    await core.authorize(actor, op, null, ["vault:read"]);
    await core.requireHeader(actor, op, null);
    const all = await core.deps.store.listSecrets();
    const visible = all.filter((secret) => !secret.name.startsWith(SYSTEM_SECRET_PREFIX) && nameAllowed(secret.name, actor.secretPatterns));
    await core.audit.record(core.audit.draft(actor, op, null, "allowed", `${visible.length} names`));
    return visible.map((secret) => this.info(secret));
  }

  deleteSecret(name: string, actor: VaultActor): Promise<void> {
    const { core } = this;
    const op = "secret.delete";
    return core.lockState.shared(async () => {
      await core.checkName(actor, op, name);
      await core.authorize(actor, op, name, ["vault:write"]);
      await core.requireUnlocked(actor, op, name);
      await core.audit.write(actor, op, name, (tx) => {
        if (!tx.deleteSecret(name)) throw new Refusal(secretNotFound(), "failed", "not_found");
        return { reason: null, value: undefined };
      }, { secrets: [name] });
      core.secretChanged(name);
    });
  }

  /** The caller (service registration) already required services:write, so no vault scope is checked. */
  async storeServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string> {
    const name = serviceCredentialName(serviceId);
    await this.putAs(SERVICE_CREDENTIAL_OP, name, { value }, actor, false);
    return `vault:${name}`;
  }

  /**
   * What `storeServiceCredential` would refuse (a bad value, a locked vault), checked without writing; answers the
   * reference the record will hold. A registration checks every credential before it commits anything and stores
   * them only once its record committed (registry/registry-service.ts), so a refused registration (a conflict, a
   * refused entry of a batch) never replaces a credential in use.
   */
  checkServiceCredential(serviceId: string, value: string, actor: VaultActor): Promise<string> {
    const name = serviceCredentialName(serviceId);
    return this.core.lockState.shared(async () => {
      await this.precheck(SERVICE_CREDENTIAL_OP, name, { value }, actor, false);
      return `vault:${name}`;
    });
  }

  /** The refusals of a put before anything is written (each one audited); answers the unlocked keys. */
  private async precheck(op: string, name: string, request: PutSecretRequest, actor: VaultActor, checkAccess: boolean): Promise<UnlockedKeys> {
    const { core } = this;
    await core.checkName(actor, op, name);
    const parsed = PutSecretRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await core.audit.refuse(actor, op, name, "failed", "validation_failed", validation(issue?.path.map(String).join(".") || "value", issue?.message ?? "invalid"));
    }
    if (request.expiresAt !== undefined && Date.parse(request.expiresAt) <= core.now()) {
      await core.audit.refuse(actor, op, name, "failed", "validation_failed", validation("expiresAt", "must be in the future"));
    }
    if (checkAccess) await core.authorize(actor, op, name, ["vault:write"]);
    return core.requireUnlocked(actor, op, name);
  }

  private putAs(op: string, name: string, request: PutSecretRequest, actor: VaultActor, checkAccess: boolean): Promise<SecretInfo> {
    const { core } = this;
    const result = core.lockState.shared(async () => {
      const state = await this.precheck(op, name, request, actor, checkAccess);
      const keep = core.deps.config.keepVersions;
      let used = 0;
      const info = await core.audit.write(actor, op, name, (tx) => {
        core.checkFreshIn(tx, state);
        const existing = tx.getSecret(name);
        const keyFor = (keyVersion: number) => state.keyring.keyFor(keyVersion);
        if (existing) {
          // A new version is not stacked on a tampered head (its number would follow a rolled-back one).
          const checked = checkHead(existing, keyFor);
          if ("what" in checked) {
            core.deps.logger.error({ operation: op, secret: name }, `vault: tampering detected: secret ${name}: ${checked.what}`);
            throw new Refusal(integrityError(), "failed", `tampered: secret ${name}: ${checked.what}`);
          }
        }
        const version = (existing?.meta.version ?? 0) + 1;
        const at = core.iso();
        const active = state.keyring.active;
        const bytes = Buffer.from(request.value, "utf8");
        const ciphertext = encryptSecret(active.key.bytes, active.version, name, version, bytes);
        bytes.fill(0);
        const meta: Omit<SecretMetaRow, "headMac"> = {
          name,
          version,
          description: request.description ?? existing?.meta.description ?? null,
          createdAt: existing?.meta.createdAt ?? at,
          createdBy: existing?.meta.createdBy ?? actor.owner,
          updatedAt: at,
          updatedBy: actor.owner,
          lastUsedAt: existing?.meta.lastUsedAt ?? null,
          lastUsedBy: existing?.meta.lastUsedBy ?? null,
          expiresAt: request.expiresAt ?? null,
        };
        tx.putSecretMeta({ ...meta, headMac: sealHead(meta, ciphertext, keyFor) });
        tx.putSecretVersion({ name, version, keyVersion: active.version, ciphertext, createdAt: at });
        const keepFrom = version - keep + 1;
        tx.pruneSecretVersions(name, keepFrom);
        used = this.rotation.countEncryptions(tx, active.version, 1);
        const versions = [version, ...(existing?.versions.map((row) => row.version) ?? [])].filter((v) => v >= keepFrom);
        return { reason: `v${version}`, value: this.info({ ...meta, versions }) };
      }, { secrets: [name] });
      core.noteUsage(state, state.keyring.active.version, used);
      core.secretChanged(name);
      return info;
    });
    // Outside the shared lock: rotation needs it exclusively.
    return result.then(async (info) => {
      await this.rotation.maybeAutoRotate();
      return info;
    });
  }

  private info(secret: Omit<ListedSecret, "headMac">): SecretInfo {
    const info: SecretInfo = {
      name: secret.name,
      version: secret.version,
      versions: [...secret.versions].sort((a, b) => b - a),
      createdAt: secret.createdAt,
      createdBy: secret.createdBy,
      updatedAt: secret.updatedAt,
      updatedBy: secret.updatedBy,
      lastUsedAt: secret.lastUsedAt,
      lastUsedBy: secret.lastUsedBy,
      expiresAt: secret.expiresAt,
      expired: this.expired(secret),
    };
    if (secret.description !== null) info.description = secret.description;
    return info;
  }

  private expired(meta: Pick<SecretMetaRow, "expiresAt">): boolean {
    return meta.expiresAt !== null && Date.parse(meta.expiresAt) <= this.core.now();
  }
}
