/**
 * @module vault/redacted
 * A holder for key material that cannot leak by accident: JSON, `util.inspect`, string conversion and
 * template literals all print `[REDACTED]`. The bytes stay in a Buffer so `destroy()` can overwrite them
 * (JS strings cannot be zeroed); after that, `bytes` throws instead of handing out zeros as a key.
 */
import { inspect } from "node:util";

export const REDACTED = "[REDACTED]";

export class KeyMaterial {
  #bytes: Buffer | null;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  get bytes(): Buffer {
    if (!this.#bytes) throw new Error("key material was destroyed");
    return this.#bytes;
  }

  get destroyed(): boolean {
    return this.#bytes === null;
  }

  /** Zeroes the bytes and drops the reference. */
  destroy(): void {
    this.#bytes?.fill(0);
    this.#bytes = null;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
