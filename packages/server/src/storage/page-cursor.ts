/**
 * @module storage/page-cursor
 * The opaque paging cursor: base64url of the last id of the page. Listings are ordered by id, so the
 * next page is "id > cursor", which stays correct while records are added or removed between pages.
 * Shared by every backend, so that a cursor means the same thing whichever store issued it.
 */
import { InvalidCursorError } from "./store.js";

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

/** Decodes a cursor; a string that is not the canonical encoding of an id is refused (InvalidCursorError). */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (id === "" || encodeCursor(id) !== cursor) throw new InvalidCursorError();
  return id;
}
