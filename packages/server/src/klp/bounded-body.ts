/**
 * @module klp/bounded-body
 * Reads a federation peer's HTTP answer as text, but never more than a given number of bytes (bounded-read.ts):
 * a broken or hostile node must not be able to make us buffer an endless body. The WebSocket side has the same
 * bound as `maxPayload`.
 */
import { decodeUtf8, klp } from "@kai/protocol";
import { collectBounded } from "../bounded-read.js";

/** The most a peer may send us in one answer (also the WebSocket frame limit of a peer session). */
export const MAX_PEER_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * The body of `response` as UTF-8 text (a leading BOM dropped, as `response.text()` does); `KLP_MALFORMED` past
 * `maxBytes`, and for bytes that are not UTF-8: a lenient decoder would hand the acceptance rules U+FFFD instead
 * of what the peer sent.
 */
export async function readBoundedText(response: Response, what: string, maxBytes = MAX_PEER_ANSWER_BYTES): Promise<string> {
  const body = response.body;
  if (!body) return "";
  const tooLarge = () => new klp.KlpError("KLP_MALFORMED", `${what} is larger than ${maxBytes} bytes`);
  const { chunks, length } = await collectBounded(body, response.headers.get("content-length"), maxBytes, tooLarge, () => void body.cancel().catch(() => {}));
  if (length === 0) return "";
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = decodeUtf8(bytes.subarray(start));
  if (text === undefined) throw new klp.KlpError("KLP_MALFORMED", `${what} is not valid UTF-8`);
  return text;
}
