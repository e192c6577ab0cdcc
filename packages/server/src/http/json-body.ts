/**
 * @module http/json-body
 * The JSON body parser: the protocol's `parseJson` (prototype-safe), an empty body read as "no body"
 * (so that optional bodies such as a heartbeat's can be omitted), and a stable `invalid_json` error.
 */
import type { FastifyInstance } from "fastify";
import { parseJson } from "@kai/protocol";
import { ApiError } from "../errors.js";

export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    const parsed = parseJson(text);
    if (!parsed.ok) return done(new ApiError("invalid_json", "request body is not valid JSON"), undefined);
    done(null, parsed.value);
  });
}
