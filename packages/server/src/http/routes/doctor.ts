/**
 * @module http/routes/doctor
 * `GET /api/doctor` (scope admin; `kai doctor`, the web app's Overview): what on the instance answering needs an
 * operator's attention (doctor/node-doctor.ts). Admin only: it names folders, files and the trace collector.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { DoctorResponseSchema, ErrorBodySchema, type DoctorResponse } from "@kai/protocol";

export function doctorRoutes(runDoctor: () => Promise<DoctorResponse>): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/doctor", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "What on this instance needs attention: TLS files, backups, disk space, log files, trace export, the vault, first sign-in (each ok, warn or fail, with what to do)",
        security: [{ bearer: [] }],
        response: { 200: DoctorResponseSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async () => runDoctor());
  };
}
