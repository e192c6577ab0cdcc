/**
 * @module klp/bounded-body
 * Reads a federation peer's HTTP answer as text, but never more than a given number of bytes (bounded-read.ts):
 * a broken or hostile node must not be able to make us buffer an endless body. The WebSocket side has the same
 * bound as `maxPayload`.
 */
import { klp } from "@kai/protocol";
import { collectBounded, decodeText } from "../bounded-read.js";

/** The most a peer may send us in one answer (also the WebSocket frame limit of a peer session). */
export const MAX_PEER_ANSWER_BYTES = 16 * 1024 * 1024;

/** The body of `response` as UTF-8 text (a leading BOM dropped, as `response.text()` does); `KLP_MALFORMED` past `maxBytes`. */
export async function readBoundedText(response: Response, what: string, maxBytes = MAX_PEER_ANSWER_BYTES): Promise<string> {
  const body = response.body;
  if (!body) return "";
  const tooLarge = () => new klp.KlpError("KLP_MALFORMED", `${what} is larger than ${maxBytes} bytes`);
  const { chunks, length } = await collectBounded(body, response.headers.get("content-length"), maxBytes, tooLarge, () => void body.cancel().catch(() => {}));
  return decodeText(chunks, length);
}
