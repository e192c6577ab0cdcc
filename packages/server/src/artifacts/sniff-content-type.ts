/**
 * @module artifacts/sniff-content-type
 * An artifact's content type from its first bytes, not from what the client said: binary formats by their
 * signatures (file-type, a maintained table of several hundred formats), text by being well-formed UTF-8 without
 * NUL bytes. Only for text, which has no signature, is the declared type used, and only when it is a text type
 * itself (a client calling an executable `text/plain`, or a text file `image/png`, is not believed).
 */
import { fileTypeFromBuffer } from "file-type";
import { isUtf8 } from "node:buffer";

/** Declared types believed for bytes that are text (they cannot be told apart from the bytes alone). */
const TEXT_TYPES = new Set(["application/json", "application/x-ndjson", "application/xml", "application/yaml", "application/javascript", "image/svg+xml"]);

/** `type/subtype` of a Content-Type header value, lower-cased, without parameters; undefined when it is not one. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type) && type.length <= 127 ? type : undefined;
}

export async function sniffContentType(head: Buffer, declared: string | undefined, complete: boolean): Promise<string> {
  // The sniffer walks the format's structure; bytes that start like a format and then are not one must not fail
  // the upload: they are what the rest of this function finds.
  // A view of this realm's Uint8Array over the same bytes: file-type checks `instanceof Uint8Array`, which a Buffer
  // made in another realm fails (the web app's component tests run the node inside jsdom's globals).
  const found = await fileTypeFromBuffer(new Uint8Array(head.buffer, head.byteOffset, head.byteLength)).catch(() => undefined);
  if (found && mediaTypeOf(found.mime) === found.mime) return found.mime;
  if (head.includes(0)) return "application/octet-stream";
  if (!isText(head, complete)) return "application/octet-stream";
  const type = mediaTypeOf(declared);
  if (type && (type.startsWith("text/") || TEXT_TYPES.has(type))) return type;
  return "text/plain";
}

/** Well-formed UTF-8; a head that is not the whole file may end inside a character (up to 3 bytes of it). */
function isText(head: Buffer, complete: boolean): boolean {
  if (isUtf8(head)) return true;
  if (complete) return false;
  for (let cut = 1; cut <= 3 && cut < head.length; cut++) if (isUtf8(head.subarray(0, head.length - cut))) return true;
  return false;
}
