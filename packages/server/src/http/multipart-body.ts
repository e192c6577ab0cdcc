/**
 * @module http/multipart-body
 * Reads one multipart/form-data upload (one file and a few text fields, e.g. the audio of
 * `/v1/audio/transcriptions`) with its limits enforced while the bytes arrive, and every failure given a code:
 * - a body that is not well-formed multipart (cut short, no boundary, a part header that is not one, a JSON field
 *   that is not JSON, a prototype key as a field name) is a 400 `validation_failed`, never the parser's error as a
 *   500;
 * - an upload over its limits is a 413 `payload_too_large` at once: before reading anything when the announced
 *   `Content-Length` is already too large, and the moment the file passes its limit otherwise. The parser would
 *   truncate the file and go on reading (and discarding) the rest of it, so the 413 came only after the whole upload,
 *   however large; here reading stops and the answer closes the connection (http/body-guard.ts).
 * Parsing is @fastify/multipart's (busboy), registered on the route's scope.
 */
import type { IncomingMessage } from "node:http";
import type { FastifyRequest } from "fastify";
import type { MultipartFile } from "@fastify/multipart";
import { ApiError } from "../errors.js";

export interface UploadLimits {
  /** Largest file, bytes. */
  fileBytes: number;
  /** Most text fields. */
  fields: number;
  /** Largest text field value, bytes. */
  fieldBytes: number;
}

export interface UploadedFile {
  bytes: Buffer;
  /** As the client named it ("" when it did not). */
  filename: string;
  mimeType: string;
}

export interface Upload {
  /** Text fields by name (the last one wins when a name repeats). */
  fields: Record<string, string>;
  file: UploadedFile | undefined;
}

/** Room for boundaries and part headers on top of the file and the fields, in an announced length. */
const FRAMING_BYTES = 64 * 1024;

const MEBIBYTE = 1024 * 1024;
const sizeOf = (bytes: number) => (bytes >= MEBIBYTE ? `${Math.round((bytes / MEBIBYTE) * 10) / 10} MiB` : `${Math.ceil(bytes / 1024)} KiB`);

function tooLarge(limits: UploadLimits): ApiError {
  return new ApiError("payload_too_large", `upload over its limits: one file of at most ${sizeOf(limits.fileBytes)} and ${limits.fields} fields of at most ${sizeOf(limits.fieldBytes)} each`);
}

/** What the parser's own errors mean for the caller: its limit errors carry 413; anything else is a malformed body. */
function refusalOf(error: unknown, limits: UploadLimits): ApiError {
  if (error instanceof ApiError) return error;
  if ((error as { statusCode?: unknown } | null)?.statusCode === 413) return tooLarge(limits);
  return new ApiError("validation_failed", "request body is not well-formed multipart/form-data");
}

/** Stops taking bytes from the client: the refusal about to be sent closes the connection (http/body-guard.ts). */
function stopReading(request: IncomingMessage): void {
  request.unpipe();
  request.pause();
}

/**
 * The file's bytes, or a 413 the moment the parser reports the limit passed (it would cut the file there and read on
 * to the part's end). Iterating also surfaces an error the stream had before we listened (a part cut short).
 */
async function readFile(file: MultipartFile["file"], limits: UploadLimits): Promise<Buffer> {
  file.once("limit", () => file.destroy(tooLarge(limits)));
  const chunks: Buffer[] = [];
  for await (const chunk of file) chunks.push(chunk as Buffer);
  if (file.truncated) throw tooLarge(limits);
  return Buffer.concat(chunks);
}

/** Reads the upload of a multipart request (the caller checked `request.isMultipart()`). */
export async function readUpload(request: FastifyRequest, limits: UploadLimits): Promise<Upload> {
  const announced = Number(request.headers["content-length"]);
  if (announced > limits.fileBytes + limits.fields * limits.fieldBytes + FRAMING_BYTES) throw tooLarge(limits);
  const fields: Record<string, string> = {};
  let file: UploadedFile | undefined;
  try {
    const parts = request.parts({
      limits: { fileSize: limits.fileBytes, files: 1, fields: limits.fields, fieldSize: limits.fieldBytes, parts: limits.fields + 1, headerPairs: 32 },
    });
    for await (const part of parts) {
      if (part.type === "file") {
        const bytes = await readFile(part.file, limits);
        file = { bytes, filename: part.filename, mimeType: part.mimetype };
      } else {
        // The parser cuts a long value short and says so: a cut value must not pass as the value sent.
        if (part.valueTruncated) throw tooLarge(limits);
        if (part.fieldnameTruncated) throw new ApiError("validation_failed", "a multipart field name is too long");
        if (typeof part.value === "string") fields[part.fieldname] = part.value;
      }
    }
  } catch (error) {
    const refusal = refusalOf(error, limits);
    if (refusal.code === "payload_too_large") stopReading(request.raw);
    throw refusal;
  }
  return { fields, file };
}
