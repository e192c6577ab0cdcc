/**
 * @module klp/bounded-body
 * Reads a peer's HTTP answer as text, but never more than a given number of bytes: a broken or hostile node
 * must not be able to make us buffer an endless body. The WebSocket side has the same bound as `maxPayload`.
 * Hand-written because `fetch` has no size limit of its own; it stops at the announced `content-length` when
 * that is already too large, else as soon as the bytes read pass the limit, and cancels the body either way.
 */
import { klp } from "@kai/protocol";

/** The most a peer may send us in one answer (also the WebSocket frame limit of a peer session). */
export const MAX_PEER_ANSWER_BYTES = 16 * 1024 * 1024;

function tooLarge(what: string, maxBytes: number): klp.KlpError {
  return new klp.KlpError("KLP_MALFORMED", `${what} is larger than ${maxBytes} bytes`);
}

/** The body of `response` as UTF-8 text (a leading BOM dropped, as `response.text()` does); throws past `maxBytes`. */
export async function readBoundedText(response: Response, what: string, maxBytes = MAX_PEER_ANSWER_BYTES): Promise<string> {
  const announced = Number(response.headers.get("content-length") ?? Number.NaN);
  if (announced > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(what, maxBytes);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(what, maxBytes);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, length));
}
