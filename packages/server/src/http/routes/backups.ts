/**
 * @module http/routes/backups
 * `/api/backups` (scope `backup:admin`; `admin` implies it, issue 19): take a backup while the node serves, list the
 * backups in the backup directory, verify one by restoring it into a scratch database (backup/), download one (its
 * encrypted file as it is, for an operator with no shell on the node to keep elsewhere or restore on another machine),
 * delete one (its file; the scheduled retention deletes the oldest on its own). A passphrase in a
 * body is used for that call only: never stored, never logged (request bodies are not logged). Restoring is not
 * served here on purpose: it replaces everything the node holds, which a running node cannot do under itself
 * (`kai backup restore` on the stopped node; docs/operations/backup.md).
 */
import { createReadStream } from "node:fs";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  BackupIdSchema,
  BackupListResponseSchema,
  BackupVerificationSchema,
  CreateBackupRequestSchema,
  CreateBackupResponseSchema,
  ErrorBodySchema,
  VerifyBackupRequestSchema,
} from "@kai/protocol";
import type { BackupService } from "../../backup/backup-service.js";
import { principalOf } from "../authenticate.js";

const IdParamsSchema = z.strictObject({ id: BackupIdSchema });
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["backup:admin" as const];

/** Streams a file as the body: the route's typed reply takes only its schema's shapes, the untyped one a stream. */
function sendFile(reply: FastifyReply, path: string): FastifyReply {
  return reply.send(createReadStream(path));
}

export function backupRoutes(backups: BackupService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/backups", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["backups"],
        summary: "Take a backup of everything the node holds, while it serves: encrypted with the passphrase given or backup.passphrase (backup:admin)",
        security,
        body: CreateBackupRequestSchema,
        response: { 201: CreateBackupResponseSchema, 409: ErrorBodySchema, 507: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const created = await backups.create(request.body);
      return reply.code(201).header("Cache-Control", "no-store").send(created);
    });

    app.get("/api/backups", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["backups"],
        summary: "The backups in the node's backup directory and offsite store (backup.offsite), newest first: id, time, node, size, where (backup:admin)",
        security,
        response: { 200: BackupListResponseSchema, ...errors },
      },
    }, async (_request, reply) => reply.header("Cache-Control", "no-store").send(await backups.list()));

    app.get("/api/backups/:id/download", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["backups"],
        summary: "A backup's file, as it is (encrypted; `application/octet-stream`, named `<id>.kaibak`; one kept only offsite is fetched into the backup directory first): keep it elsewhere, check it with `kai backup verify --file`, restore it with `kai backup restore` (backup:admin)",
        security,
        params: IdParamsSchema,
        response: { 200: z.string().describe("the backup file's bytes"), 404: ErrorBodySchema, 503: ErrorBodySchema, 507: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      const file = await backups.fileFor(id);
      return sendFile(
        reply
          .header("Content-Type", "application/octet-stream")
          .header("Content-Length", String(file.bytes))
          .header("Content-Disposition", `attachment; filename="${id}.kaibak"`)
          .header("Cache-Control", "no-store"),
        file.path,
      );
    });

    app.delete("/api/backups/:id", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["backups"],
        summary: "Delete a backup: its file in the node's backup directory and its offsite copy; after a backup being taken or verified (backup:admin)",
        security,
        params: IdParamsSchema,
        response: { 204: z.null().describe("deleted"), 404: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      await backups.delete(request.params.id, principalOf(request).owner);
      return reply.status(204).send(null);
    });

    app.post("/api/backups/:id/verify", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["backups"],
        summary: "Prove a backup restores: decrypt, check every hash, restore into a scratch database and compare kind by kind; one kept only offsite is fetched into the backup directory first (backup:admin)",
        security,
        params: IdParamsSchema,
        body: VerifyBackupRequestSchema,
        response: { 200: BackupVerificationSchema, 404: ErrorBodySchema, 422: ErrorBodySchema, 503: ErrorBodySchema, 507: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(await backups.verify(request.params.id, request.body.passphrase)));
  };
}
