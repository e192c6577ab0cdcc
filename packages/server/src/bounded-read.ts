/**
 * @module bounded-read
 * Collects a body from another party (a provider's answer, a federation peer's) up to a number of bytes, so a
 * broken or hostile sender cannot make the server buffer an endless body. Hand-written because neither undici's
 * body nor `fetch` has a size limit of its own. Shared by the gateway's upstream calls and the KLP client, which
 * differ only in their body type (both async-iterable) and in the error they raise.
 */

export interface BoundedBody {
  chunks: Uint8Array[];
  length: number;
}

/**
 * The bytes of `body`, refusing more than `maxBytes`: an announced `content-length` above it before reading
 * anything (then `discard` drops the unread body), otherwise as soon as the count passes it (leaving the loop
 * ends the iteration, which closes the body). Refusals throw `tooLarge()`.
 */
export async function collectBounded(
  body: AsyncIterable<Uint8Array>,
  announced: string | null | undefined,
  maxBytes: number,
  tooLarge: () => Error,
  discard: () => void,
): Promise<BoundedBody> {
  if (announced != null && Number(announced) > maxBytes) {
    discard();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    // Counted before it is kept: nothing past the limit is ever held.
    if (length > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return { chunks, length };
}

/** UTF-8 text of collected chunks, a leading byte-order mark skipped (as undici's `text()` and `fetch`'s do). */
export function decodeText(chunks: readonly Uint8Array[], length: number): string {
  if (length === 0) return "";
  const first = chunks[0]!;
  const buffer = chunks.length === 1 ? Buffer.from(first.buffer, first.byteOffset, first.byteLength) : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString("utf8", start);
}
