/**
 * @module http/json-body
 * The JSON body parser of every API route: the protocol's `parseJsonBytes` (prototype-safe, bounded depth),
 * an empty body read as "no body" (so that optional bodies such as a heartbeat's can be omitted), and stable
 * errors. The body is taken as bytes and decoded here, fatally: invalid UTF-8 is `invalid_json`, never
 * U+FFFD stored in its place, and a string with an unpaired UTF-16 surrogate (`"\ud800"`, valid JSON) is
 * `validation_failed` naming the field, because it could not be stored as sent, canonicalised or signed
 * (one such record used to break every signed discovery answer). This is the one rule for every text field
 * of every schema, applied once, before any schema sees the body.
 */
import type { FastifyInstance } from "fastify";
import { parseJsonBytes } from "@kai/protocol";
import { ApiError } from "../errors.js";

/** The message of each refusal; the lone-surrogate one also names the field in `details`. */
function refusal(result: Extract<ReturnType<typeof parseJsonBytes>, { ok: false }>): ApiError {
  switch (result.reason) {
    case "encoding":
      return new ApiError("invalid_json", "request body is not valid UTF-8");
    case "depth":
      return new ApiError("invalid_json", `request body is ${result.error}`);
    case "text": {
      const path = result.path ?? "(root)";
      return new ApiError("validation_failed", "request body has text that is not valid Unicode (an unpaired UTF-16 surrogate)", [
        { path, message: "contains an unpaired UTF-16 surrogate (\\ud800-\\udfff without its pair); text must be valid Unicode" },
      ]);
    }
    default:
      return new ApiError("invalid_json", "request body is not valid JSON");
  }
}

export function installJsonBodyParser(app: FastifyInstance): void {
  // JSON only: Fastify's built-in text/plain parser would let a string body reach validation (415 instead).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    // Only JSON whitespace means "no body" (the same set `text.trim()` took before, for these bytes).
    if (bytes.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d)) return done(null, undefined);
    const parsed = parseJsonBytes(bytes);
    if (!parsed.ok) return done(refusal(parsed), undefined);
    done(null, parsed.value);
  });
}
