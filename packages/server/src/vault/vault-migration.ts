/**
 * @module vault/vault-migration
 * The format-1 → 2 migration of stored secrets (docs/decisions/0009-vault-authenticated-metadata.md): every
 * secret's head gets its MAC (crypto/secret-head.ts). It runs inside the unlock's transaction, with the
 * header rewritten as format 2 (vault-unlock.ts), so a crash leaves either the old format whole (and the
 * next unlock migrates again) or the new one whole; never a format-2 header over rows without MACs.
 *
 * A format-1 row carried no MAC, so the migration can only take the metadata as it finds it: an edit made
 * before the first unlock by this version is not detectable afterwards (the ADR says so). A row whose current
 * version is missing or under a key the keyring no longer has is left without a MAC, and so is reported as
 * tampered when it is read.
 */
import type { VaultTx } from "../storage/contracts/vault-store.js";
import type { Keyring } from "./keyring.js";
import { sealHead } from "./secret-integrity.js";

/** Writes the head MAC of every secret in `tx`; returns how many got one. */
export function migrateSecretHeads(tx: VaultTx, keyring: Keyring): number {
  const keyFor = (version: number) => keyring.keyFor(version);
  const names = new Set(tx.allSecretVersions().map((row) => row.name));
  let sealed = 0;
  for (const name of names) {
    const stored = tx.getSecret(name);
    const current = stored?.versions.find((row) => row.version === stored.meta.version);
    if (!stored || !current) continue;
    try {
      tx.putSecretMeta({ ...stored.meta, headMac: sealHead(stored.meta, current.ciphertext, keyFor) });
      sealed++;
    } catch {
      // Left without a MAC: reported as tampered when read (see the module comment).
    }
  }
  return sealed;
}
