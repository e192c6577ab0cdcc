/**
 * @module storage/contracts/page-cursor
 * The opaque paging cursor: base64url of `#` and the listing position (`seq`) of the last record of the page.
 * Listings run in registration order (each record's `seq`, the revision that created it), so the next page
 * is "seq > cursor": correct while records are added or removed between pages, and a record registered
 * meanwhile is never skipped, as it lands after every page already read.
 * Shared by every backend, so that a cursor means the same thing whichever store issued it. The `#` cannot
 * start a service id, so a cursor of the id-ordered listing of earlier versions is refused, not misread.
 */

const PREFIX = "#";

/** Thrown by `listServices` (and the directory's listings) for a cursor this node did not issue (the API answers 400). */
export class InvalidCursorError extends Error {
  constructor() {
    super("invalid cursor");
    this.name = "InvalidCursorError";
  }
}

export function encodeCursor(lastSeq: number): string {
  return Buffer.from(`${PREFIX}${lastSeq}`, "utf8").toString("base64url");
}

/** Decodes a cursor; anything but the canonical encoding of a positive position is refused (InvalidCursorError). */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^#[1-9][0-9]{0,15}$/.test(text)) throw new InvalidCursorError();
  const seq = Number(text.slice(PREFIX.length));
  if (!Number.isSafeInteger(seq) || encodeCursor(seq) !== cursor) throw new InvalidCursorError();
  return seq;
}
