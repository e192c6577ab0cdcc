/**
 * @module http/routes/doctor
 * `GET /api/doctor` (scope admin; `kai doctor`, the web app's Overview): what on the node's instances needs an
 * operator's attention (doctor/node-doctor.ts). The instance answering checks itself and, on a node of several
 * instances, asks the others for their checks (doctor/cluster-doctor-relay.ts) unless `instances=this`. Admin only:
 * it names folders, files and the trace collector.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { DoctorQuerySchema, DoctorResponseSchema, ErrorBodySchema, type DoctorReport } from "@kai/protocol";
import { doctorAnswer } from "../../doctor/node-doctor.js";
import type { ClusterDoctorRelay } from "../../doctor/cluster-doctor-relay.js";

export function doctorRoutes(checkSelf: () => Promise<DoctorReport>, relay: Pick<ClusterDoctorRelay, "others"> | null = null): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/doctor", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "What on the node needs attention: TLS files, backups, disk space, log files, trace export, the vault, first sign-in (each ok, warn or fail, with what to do)",
        description:
          "The instance answering checks itself. On a node of several instances it also asks every other live instance for its checks (`instances=all`, the default; up to 3 s): their reports are in `others`, those that did not answer in `unanswered`, and `state` is the worst of the whole answer (an instance that did not answer counts as `warn`). `instances=this`: the answering instance's checks only.",
        security: [{ bearer: [] }],
        querystring: DoctorQuerySchema,
        response: { 200: DoctorResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request) => {
      const [own, others] = await Promise.all([checkSelf(), relay && request.query.instances === "all" ? relay.others() : undefined]);
      return doctorAnswer(own, others);
    });
  };
}
