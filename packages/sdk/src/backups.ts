/**
 * @module backups
 * `client.backups` (scope `backup:admin`, issue 19): take a backup of everything the node holds while it serves,
 * list the backups in its backup directory, verify one by a scratch restore. A passphrase given here is used for
 * that call only; without one the node's `backup.passphrase` is used. Restoring is offline (`kai backup restore`).
 */
import {
  BackupListResponseSchema,
  BackupVerificationSchema,
  CreateBackupResponseSchema,
  type BackupSummary,
  type BackupVerification,
  type CreateBackupRequest,
  type CreateBackupResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

export interface BackupsClient {
  /** `POST /api/backups`: takes a backup (with the artifacts' bytes when asked); answers it with its counts. 507 `backup_failed` when the node cannot write to its backup directory. */
  create(request?: CreateBackupRequest): Promise<CreateBackupResponse>;
  /** `GET /api/backups`: newest first. */
  list(): Promise<BackupSummary[]>;
  /** `POST /api/backups/{id}/verify`: 422 `backup_passphrase_wrong` or `backup_corrupt` when it cannot be opened. */
  verify(id: string, passphrase?: string): Promise<BackupVerification>;
}

export function createBackupsClient(http: HttpTransport): BackupsClient {
  return {
    create: async (request = {}) => (await http.request("POST", "/api/backups", { body: request, schema: CreateBackupResponseSchema })).data,
    list: async () => (await http.request("GET", "/api/backups", { schema: BackupListResponseSchema })).data.backups,
    verify: async (id, passphrase) =>
      (await http.request("POST", `/api/backups/${encodeURIComponent(id)}/verify`, { body: passphrase !== undefined ? { passphrase } : {}, schema: BackupVerificationSchema })).data,
  };
}
