/**
 * @module storage/contracts/page-cursor
 * The opaque paging cursors of service listings, shared by every backend so that a cursor means the same thing
 * whichever store issued it.
 *
 * Registration order (`sort=registered`, ascending, the default): base64url of `#` and the listing position
 * (`seq`) of the page's last record. The next page is "seq > cursor": correct while records are added or removed
 * between pages, and a record registered meanwhile is never skipped, as it lands after every page already read.
 * The `#` cannot start a service id, so a cursor of the id-ordered listing of earlier versions is refused.
 *
 * Every other (sort, order): keyset paging on (sort value, seq). The cursor is base64url of `$` and the JSON
 * array `[sort, order, value, seq]` of the page's last row, where `value` is what the database itself computed for
 * that row (so the next page's comparison uses the database's own value, not one recomputed here). A cursor
 * names the sort it was issued for: used with another sort or order it is refused, not misread. Decoding is
 * strict: only the canonical encoding is accepted (re-encoding must give the same text).
 */
import { parseJson, SERVICE_SORTS, type ServiceSort, type SortOrder } from "@kai/protocol";

const PREFIX = "#";
const SORTED_PREFIX = "$";

/** Thrown by `listServices` (and the directory's listings) for a cursor this node did not issue (the API answers 400). */
export class InvalidCursorError extends Error {
  constructor() {
    super("invalid cursor");
    this.name = "InvalidCursorError";
  }
}

/** How a listing is ordered: absent fields mean registration order, ascending. */
export interface ListingOrder {
  sort?: ServiceSort | undefined;
  order?: SortOrder | undefined;
}

/** Where a page ended: the last row's sort value (null for `registered`) and its tie-breaker. */
export interface SortedPosition<Tie extends number | string = number> {
  value: string | number | null;
  tie: Tie;
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

/** The (sort, order) of a listing with the defaults filled in. */
export function orderOf(listing: ListingOrder): { sort: ServiceSort; order: SortOrder } {
  return { sort: listing.sort ?? "registered", order: listing.order ?? "asc" };
}

/** True for today's order (registration, ascending): the one that keeps the `#<seq>` cursor. */
export function isDefaultOrder(listing: ListingOrder): boolean {
  const { sort, order } = orderOf(listing);
  return sort === "registered" && order === "asc";
}

/** The body of a sorted cursor (without any prefix): base64url of `$[sort, order, value, tie]`. */
export function encodeSortedPosition<Tie extends number | string>(listing: ListingOrder, position: SortedPosition<Tie>): string {
  const { sort, order } = orderOf(listing);
  return Buffer.from(SORTED_PREFIX + JSON.stringify([sort, order, position.value, position.tie]), "utf8").toString("base64url");
}

const isTie = (value: unknown, tie: "number" | "string"): boolean =>
  tie === "number" ? Number.isSafeInteger(value) && (value as number) > 0 : typeof value === "string" && value !== "";

/**
 * Decodes `encodeSortedPosition`'s text for `listing`; refuses (InvalidCursorError) anything else, including a
 * cursor issued for another sort or order, and a value of the wrong kind for the sort.
 */
export function decodeSortedPosition<Tie extends number | string>(body: string, listing: ListingOrder, tie: Tie extends number ? "number" : "string"): SortedPosition<Tie> {
  const { sort, order } = orderOf(listing);
  const text = Buffer.from(body, "base64url").toString("utf8");
  if (!text.startsWith(SORTED_PREFIX)) throw new InvalidCursorError();
  const json = parseJson(text.slice(SORTED_PREFIX.length));
  if (!json.ok || !Array.isArray(json.value) || json.value.length !== 4) throw new InvalidCursorError();
  const [cursorSort, cursorOrder, value, last] = json.value as unknown[];
  if (cursorSort !== sort || cursorOrder !== order || !SERVICE_SORTS.includes(sort)) throw new InvalidCursorError();
  const valueOk = sort === "registered" ? value === null : sort === "updated" ? Number.isSafeInteger(value) : typeof value === "string";
  if (!valueOk || !isTie(last, tie)) throw new InvalidCursorError();
  const position = { value: value as string | number | null, tie: last as Tie };
  if (encodeSortedPosition(listing, position) !== body) throw new InvalidCursorError();
  return position;
}

/** The cursor after the row at `seq` with sort value `value`, for any (sort, order). */
export function encodeListCursor(listing: ListingOrder, value: string | number | null, seq: number): string {
  return isDefaultOrder(listing) ? encodeCursor(seq) : encodeSortedPosition(listing, { value, tie: seq });
}

/** Decodes a store's cursor for `listing` (a `#<seq>` cursor only for the default order); InvalidCursorError otherwise. */
export function decodeListCursor(cursor: string, listing: ListingOrder): SortedPosition {
  if (isDefaultOrder(listing)) return { value: null, tie: decodeCursor(cursor) };
  return decodeSortedPosition<number>(cursor, listing, "number");
}
