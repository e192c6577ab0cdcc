/**
 * @module backups
 * `client.backups` (scope `backup:admin`, issue 19): take a backup of everything the node holds while it serves,
 * list the backups in its backup directory and offsite store (`backup.offsite`), verify one by a scratch restore,
 * download one (its encrypted file as it is), delete one (in both places). A passphrase given here is used for that call only; without one the node's `backup.passphrase` is used.
 * Restoring is offline (`kai backup restore`, on a downloaded file).
 */
import {
  BackupListResponseSchema,
  BackupVerificationSchema,
  CreateBackupResponseSchema,
  type BackupListResponse,
  type BackupSummary,
  type BackupVerification,
  type CreateBackupRequest,
  type CreateBackupResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

/** A backup's file on its way: its bytes, their number, and the file name the node gives it (`<id>.kaibak`). */
export interface BackupDownload {
  body: ReadableStream<Uint8Array>;
  bytes: number;
  fileName: string;
}

/** A download takes as long as its bytes do: the client's short default would cut a large backup. */
const TRANSFER_TIMEOUT_MS = 3_600_000;

export interface BackupsClient {
  /** `POST /api/backups`: takes a backup (with the artifacts' bytes when asked); answers it with its counts. 507 `backup_failed` when the node cannot write to its backup directory. */
  create(request?: CreateBackupRequest): Promise<CreateBackupResponse>;
  /** `GET /api/backups`: newest first (each with `locations`: local, offsite). */
  list(): Promise<BackupSummary[]>;
  /** `GET /api/backups` as answered: the backups, and `offsiteError` when the offsite store could not be listed. */
  listing(): Promise<BackupListResponse>;
  /**
   * `POST /api/backups/{id}/verify`: 422 `backup_passphrase_wrong` or `backup_corrupt` when it cannot be opened. A backup
   * kept only offsite is fetched into the node's backup directory first (503 `backup_offsite_unavailable` when it cannot be).
   */
  verify(id: string, passphrase?: string): Promise<BackupVerification>;
  /** `GET /api/backups/{id}/download`: the backup's file as it is (encrypted); 404 `not_found` for no such backup. */
  download(id: string, options?: { signal?: AbortSignal }): Promise<BackupDownload>;
  /** `DELETE /api/backups/{id}`: deletes the backup's file and its offsite copy; 404 `not_found` for no such backup. */
  delete(id: string): Promise<void>;
}

export function createBackupsClient(http: HttpTransport): BackupsClient {
  return {
    create: async (request = {}) => (await http.request("POST", "/api/backups", { body: request, schema: CreateBackupResponseSchema })).data,
    list: async () => (await http.request("GET", "/api/backups", { schema: BackupListResponseSchema })).data.backups,
    listing: async () => (await http.request("GET", "/api/backups", { schema: BackupListResponseSchema })).data,
    verify: async (id, passphrase) =>
      (await http.request("POST", `/api/backups/${encodeURIComponent(id)}/verify`, { body: passphrase !== undefined ? { passphrase } : {}, schema: BackupVerificationSchema })).data,
    download: async (id, options = {}) => {
      const path = `/api/backups/${encodeURIComponent(id)}/download`;
      const response = await http.stream("GET", path, { accept: "application/octet-stream", timeoutMs: TRANSFER_TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) });
      if (!response.body) throw new Error(`GET ${path}: the answer has no body`);
      return { body: response.body, bytes: Number(response.headers.get("content-length") ?? 0), fileName: `${id}.kaibak` };
    },
    delete: async (id) => {
      await http.request("DELETE", `/api/backups/${encodeURIComponent(id)}`);
    },
  };
}
