/**
 * @module errors
 * The server's one error type. Services throw `ApiError` with a stable code from the protocol's table;
 * the HTTP error handler turns it into `{"error":{"code","message","details"}}` with the code's status.
 */
import { ERROR_STATUS, type ErrorCode, type FieldError } from "@kai/protocol";

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldError[],
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
export const forbidden = (message: string) => new ApiError("forbidden", message);
export const conflict = (message: string) => new ApiError("conflict", message);
