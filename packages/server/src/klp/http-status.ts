/**
 * @module klp/http-status
 * The HTTP status a KLP rejection travels with on `POST /klp/message` and `POST /klp/register`. The body is
 * always the signed `error` envelope (its `code` is what clients switch on); the status only lets plain
 * HTTP tooling (proxies, logs, retries) tell a bad request from a refused sender from a busy node.
 */
import type { klp } from "@kai/protocol";

export const KLP_HTTP_STATUS: Record<klp.KlpErrorCode, number> = {
  KLP_MALFORMED: 400,
  KLP_UNSUPPORTED_VERSION: 400,
  KLP_BAD_SIGNATURE: 401,
  KLP_STALE: 401,
  KLP_REPLAY: 409,
  KLP_UNKNOWN_SENDER: 403,
  KLP_TRUST_INSUFFICIENT: 403,
  KLP_UNAUTHORIZED: 403,
  KLP_NOT_FOUND: 404,
  KLP_RATE_LIMITED: 429,
  KLP_INTERNAL: 500,
};
