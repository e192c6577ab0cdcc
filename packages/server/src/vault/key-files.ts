/**
 * @module vault/key-files
 * The two key files in the data directory, both 32 random bytes, mode 0600, written atomically
 * (temporary file, fsync, rename, fsync of the directory) so a crash never leaves half a key:
 * - `vault.key`: the development default's unseal key (the KEK itself, no passphrase);
 * - `audit.key`: the audit log's MAC key (see audit-chain.ts).
 * A replacement unseal key is first written as `vault.key.new` and renamed only after the header that
 * needs it committed; `readUnsealKeys` offers both, so a crash between the two steps loses nothing.
 * `audit.key` is created only if absent, atomically (a hard link, which fails when the name exists): two
 * instances starting at once on one shared key directory end up with the same key, never one each.
 * The directory is the data dir by default, or the vault's `keyDir` (vault-core.ts).
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

export const VAULT_KEY_FILE = "vault.key";
export const AUDIT_KEY_FILE = "audit.key";
const KEY_BYTES = 32;

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse to fsync a directory; the rename itself is still atomic.
  }
}

/** Writes `bytes` to a fresh temporary file beside `path` (mode 0600, fsynced) and returns its name. */
function writeTemp(path: string, bytes: Buffer): string {
  const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** Writes `bytes` to `path` atomically with mode 0600. */
export function writeKeyFile(path: string, bytes: Buffer): void {
  renameSync(writeTemp(path, bytes), path);
  fsyncDir(dirname(path));
}

/** Creates `path` with `bytes` unless it exists (atomically, whoever else tries at once); true when this call created it. */
function createKeyFileOnce(path: string, bytes: Buffer): boolean {
  const temp = writeTemp(path, bytes);
  try {
    linkSync(temp, path);
    fsyncDir(dirname(path));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The key in `path`, or null when absent. Throws when it exists but is not a 32-byte key. */
export function readKeyFile(path: string): Buffer | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  if (bytes.length !== KEY_BYTES) {
    bytes.fill(0);
    throw new Error(`${path} is not a ${KEY_BYTES}-byte key`);
  }
  return bytes;
}

/** True when group or others may read the file (worth a warning). */
export function tooOpen(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

export function removeKeyFile(path: string): void {
  rmSync(path, { force: true });
  fsyncDir(dirname(path));
}

export const vaultKeyPath = (dataDir: string) => join(dataDir, VAULT_KEY_FILE);
export const pendingVaultKeyPath = (dataDir: string) => join(dataDir, `${VAULT_KEY_FILE}.new`);
export const auditKeyPath = (dataDir: string) => join(dataDir, AUDIT_KEY_FILE);

/** The unseal key candidates, newest first: a pending replacement, then the current file. */
export function readUnsealKeys(dataDir: string): Array<{ path: string; key: Buffer }> {
  const out: Array<{ path: string; key: Buffer }> = [];
  for (const path of [pendingVaultKeyPath(dataDir), vaultKeyPath(dataDir)]) {
    const key = readKeyFile(path);
    if (key) out.push({ path, key });
  }
  return out;
}

/** Loads `audit.key` from `keyDir`, creating it when absent. `created` tells the caller a new key was made. */
export function loadOrCreateAuditKey(keyDir: string): { key: Buffer; created: boolean } {
  const path = auditKeyPath(keyDir);
  const existing = readKeyFile(path);
  if (existing) return { key: existing, created: false };
  const key = randomBytes(KEY_BYTES);
  if (createKeyFileOnce(path, key)) return { key, created: true };
  // Another process created it a moment ago: use that one.
  key.fill(0);
  return { key: readKeyFile(path)!, created: false };
}
