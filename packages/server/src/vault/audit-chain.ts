/**
 * @module vault/audit-chain
 * The audit log's keyed MACs. One random 256-bit audit key lives in `<data-dir>/audit.key` (0600),
 * outside the database and independent of the passphrase: denials must be recorded while the vault is
 * locked, and a copy of the database alone (a backup, a stolen file) can neither forge entries nor
 * confirm which secret name an entry is about. Two sub-keys are derived from it with HKDF:
 * - names:  `hmac-sha256:<hex>` of a secret's name (like Vault's audit hashing);
 * - chain:  mac(n) = HMAC(chainKey, mac(n-1) || canonical(entry n)), mac(0) = 32 zero bytes.
 * `verifyChain` recomputes every MAC in seq order and reports the first entry that does not verify, so an
 * edited, inserted, deleted or reordered entry is found; a stored head (last seq + MAC) catches deletion
 * of the newest entries. A third value, `check`, identifies the key without revealing it: a store shared by
 * several instances records it, so an instance started with another audit.key is refused (vault-service.ts).
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { lengthPrefixed } from "./crypto/aead.js";
import { KeyMaterial } from "./redacted.js";
import type { AuditHead, StoredAuditEntry } from "../storage/contracts/vault-store.js";

export type AuditDraft = Omit<StoredAuditEntry, "seq" | "mac">;

const GENESIS = Buffer.alloc(32);

export class AuditKeys {
  private readonly names: KeyMaterial;
  private readonly chain: KeyMaterial;
  /** hex HKDF output naming this key (not secret: it confirms nothing about names or entries). */
  readonly check: string;

  constructor(master: Buffer) {
    if (master.length !== 32) throw new RangeError("the audit key is 32 bytes");
    this.check = Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "kai-audit/1|check", 32)).toString("hex");
    this.names = new KeyMaterial(Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "kai-audit/1|names", 32)));
    this.chain = new KeyMaterial(Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "kai-audit/1|chain", 32)));
  }

  static random(): Buffer {
    return randomBytes(32);
  }

  /** How a secret's name appears in the audit log. */
  hashName(name: string): string {
    return `hmac-sha256:${createHmac("sha256", this.names.bytes).update(name, "utf8").digest("hex")}`;
  }

  mac(previousMac: string | null, entry: Omit<StoredAuditEntry, "mac">): string {
    const previous = previousMac === null ? GENESIS : Buffer.from(previousMac, "hex");
    return createHmac("sha256", this.chain.bytes).update(previous).update(canonicalEntry(entry)).digest("hex");
  }

  /** The entry that follows `head`, with its seq and MAC. */
  next(head: AuditHead | null, draft: AuditDraft): StoredAuditEntry {
    const unsigned = { ...draft, seq: (head?.seq ?? 0) + 1 };
    return { ...unsigned, mac: this.mac(head?.mac ?? null, unsigned) };
  }

  destroy(): void {
    this.names.destroy();
    this.chain.destroy();
  }
}

/** Every field, in a fixed order, length-prefixed; null and "" differ. */
export function canonicalEntry(entry: Omit<StoredAuditEntry, "mac">): Buffer {
  const field = (value: string | null) => (value === null ? "\u0000null" : `=${value}`);
  return lengthPrefixed(
    "kai-audit/1",
    String(entry.seq),
    entry.at,
    field(entry.tokenId),
    field(entry.actor),
    entry.operation,
    field(entry.secret),
    entry.outcome,
    field(entry.reason),
    field(entry.requestId),
  );
}

function sameMac(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}

export interface ChainReport {
  ok: boolean;
  entries: number;
  brokenAt: number | null;
}

/**
 * Walks the whole log in seq order (pages from `page`). `head` is the head as read BEFORE the walk: every
 * entry up to it must be present, and the entry at head.seq must carry the head's MAC (entries appended
 * during the walk are verified like the rest). `brokenAt` is the first seq whose entry is missing, out of
 * place or fails its MAC; for a log whose newest entries were deleted, the first missing seq.
 */
export async function verifyChain(
  keys: AuditKeys,
  head: AuditHead | null,
  page: (afterSeq: number, limit: number) => Promise<StoredAuditEntry[]>,
  pageSize = 1000,
): Promise<ChainReport> {
  let previous: string | null = null;
  let expected = 1;
  let entries = 0;
  let macAtHead: string | null = null;
  for (;;) {
    const rows = await page(expected - 1, pageSize);
    for (const row of rows) {
      entries++;
      const { mac, ...unsigned } = row;
      if (row.seq !== expected || !sameMac(mac, keys.mac(previous, unsigned))) return { ok: false, entries, brokenAt: expected };
      if (head && row.seq === head.seq) macAtHead = mac;
      previous = mac;
      expected++;
    }
    if (rows.length < pageSize) break;
  }
  if (head && expected <= head.seq) return { ok: false, entries, brokenAt: expected };
  // The entry at the head must be the one the head names: otherwise the head row itself was altered.
  if (head && (macAtHead === null || !sameMac(macAtHead, head.mac))) return { ok: false, entries, brokenAt: head.seq };
  return { ok: true, entries, brokenAt: null };
}
