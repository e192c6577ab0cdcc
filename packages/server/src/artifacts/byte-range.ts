/**
 * @module artifacts/byte-range
 * The Range header of a download (RFC 9110 §14): one range `bytes=a-b`, `bytes=a-` or `bytes=-n` is served as a 206;
 * a range that selects no byte is 416; anything else (several ranges, another unit, a malformed header) is ignored
 * and the whole artifact is sent, as the RFC allows. One range covers resuming and seeking, which is what clients
 * ask for; multipart/byteranges answers would cost a second framing for no user.
 */
import type { ByteRange } from "./blob-store.js";

export type RangeRequest = { kind: "whole" } | { kind: "range"; range: ByteRange } | { kind: "unsatisfiable" };

const SINGLE = /^bytes=(\d{0,15})-(\d{0,15})$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: "whole" };
  const match = SINGLE.exec(header.trim());
  if (!match) return { kind: "whole" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    // A suffix: the last n bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "whole" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", range: { start, end } };
}
