/**
 * @module storage/contracts/storage-errors
 * Errors every backend throws the same way, so the HTTP layer can answer them without knowing the backend.
 */

/**
 * The database cannot be reached or did not answer in time (connection refused or lost, pool timeout, statement
 * timeout, shutdown). Nothing was acknowledged. The HTTP layer answers 503 `storage_unavailable`. The message
 * never carries a URL, user or password.
 */
export class StorageUnavailableError extends Error {
  constructor(message = "the database is unavailable", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}
