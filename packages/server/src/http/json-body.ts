/**
 * @module http/json-body
 * The JSON body parser: the protocol's `parseJson` (prototype-safe), an empty body read as "no body"
 * (so that optional bodies such as a heartbeat's can be omitted), and a stable `invalid_json` error.
 */
import type { FastifyInstance } from "fastify";
import { parseJson } from "@kai/protocol";
import { ApiError } from "../errors.js";

export function installJsonBodyParser(app: FastifyInstance): void {
  // JSON only: Fastify's built-in text/plain parser would let a string body reach validation (415 instead).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    const parsed = parseJson(text);
    if (!parsed.ok) {
      const message = parsed.error.startsWith("JSON nested deeper") ? `request body is ${parsed.error}` : "request body is not valid JSON";
      return done(new ApiError("invalid_json", message), undefined);
    }
    done(null, parsed.value);
  });
}
