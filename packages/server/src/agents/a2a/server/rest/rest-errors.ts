/**
 * @module agents/a2a/server/rest/rest-errors
 * How the HTTP+JSON (REST) binding answers a failure: A2A v1.0's AIP-193 body (`{error: {code, status, message,
 * details: [google.rpc.ErrorInfo]}}`) with the HTTP status the official SDK gives each A2A error (TaskNotFound 404,
 * a malformed request 400, …), built by the SDK's own `toRestErrorBody` so official clients read it back as the
 * same error class. Every error passes through the request handler's `toA2aError` first (the JSON-RPC binding's one
 * mapping from our errors to A2A's), so the two bindings cannot disagree on what went wrong; an internal error
 * keeps the status of its code in our error table (503 when the database is away) instead of a flat 500.
 */
import { restStatusFor, toRestErrorBody, type A2AError } from "@a2a-js/sdk/errors";
import { ERROR_STATUS, ErrorCodeSchema, type A2aRestErrorBody } from "@kai/protocol";
import type { Logger } from "../../../../logging/logger.js";
import { toA2aError } from "../kcore-request-handler.js";

export interface RestErrorAnswer {
  status: number;
  body: A2aRestErrorBody;
}

/** The status and body that answer `error` on the HTTP+JSON binding. */
export function restErrorAnswer(error: unknown, logger: Logger): RestErrorAnswer {
  const a2a: A2AError = toA2aError(error, logger);
  let status = restStatusFor(a2a);
  // An internal A2AError carries our code when it came from one of our errors (kcore-request-handler's toA2aError:
  // only a 5xx code becomes a plain A2AError there).
  const code = ErrorCodeSchema.safeParse(a2a.metadata?.code);
  if (status === 500 && code.success && ERROR_STATUS[code.data] >= 500) status = ERROR_STATUS[code.data];
  return { status, body: toRestErrorBody(a2a, status) as A2aRestErrorBody };
}
