/**
 * @module doctor
 * `GET /api/doctor` (scope admin; `kai doctor`, the web app's Overview): what on the node's instances needs an
 * operator's attention, checked now (each instance checks itself; on a node of several, the answering one asks the others). Each check is about one area (TLS files, backups, disk space, log files, trace export, the
 * vault, first sign-in) and says `ok`, `warn` (act soon) or `fail` (act now), in words, with what to do when not ok.
 * The same facts are metrics and alerts for those who run Prometheus (docs/operations/metrics.md); this is the view
 * for those who do not, and the first thing to run when something seems wrong.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";
import { LogInstancesSchema } from "./logs.js";

export const DOCTOR_AREAS = ["tls", "backups", "disk", "logs", "tracing", "vault", "sign-in"] as const;
export const DoctorAreaSchema = z.enum(DOCTOR_AREAS);
export type DoctorArea = z.infer<typeof DoctorAreaSchema>;

/** Worst last: `fail` needs action now, `warn` soon. */
export const DOCTOR_STATES = ["ok", "warn", "fail"] as const;
export const DoctorStateSchema = z.enum(DOCTOR_STATES);
export type DoctorState = z.infer<typeof DoctorStateSchema>;

export const DoctorCheckSchema = z.object({
  area: DoctorAreaSchema,
  state: DoctorStateSchema,
  /** What was found, in words (`certificate server.tls.certFile expires in 9 days`). */
  summary: z.string(),
  /** What to do about it, when the state is not `ok`. */
  hint: z.string().optional(),
});
export type DoctorCheck = z.infer<typeof DoctorCheckSchema>;

/** One instance's checks, as it made them (its own disk, files and exports). */
export const DoctorReportSchema = z.object({
  checkedAt: TimestampSchema,
  /** The instance that checked. */
  instance: z.string(),
  /** The worst state among its checks. */
  state: DoctorStateSchema,
  checks: z.array(DoctorCheckSchema),
});
export type DoctorReport = z.infer<typeof DoctorReportSchema>;

/**
 * `GET /api/doctor`'s query. `instances`: on a node of several instances, every live instance's checks (`all`, the
 * default: the answering instance asks the others through the cluster, as for log lines), or the answering one's only.
 */
export const DoctorQuerySchema = z.strictObject({
  instances: LogInstancesSchema.default("all"),
});
export type DoctorQuery = z.infer<typeof DoctorQuerySchema>;
export type DoctorQueryInput = z.input<typeof DoctorQuerySchema>;

/**
 * The answering instance's checks (`instance`, `checkedAt`, `checks`) and, on a node of several instances, the other
 * live instances' reports (`others`) and the names of those that did not answer in time (`unanswered`). `state` is
 * the worst of the whole answer: an instance that did not answer counts as `warn` (its checks are unknown).
 */
export const DoctorResponseSchema = DoctorReportSchema.extend({
  state: DoctorStateSchema,
  others: z.array(DoctorReportSchema).optional(),
  unanswered: z.array(z.string()).optional(),
});
export type DoctorResponse = z.infer<typeof DoctorResponseSchema>;

/** An answer's reports in the order people read them: the answering instance's first, then the others' by name. */
export function doctorReports(answer: DoctorResponse): DoctorReport[] {
  return [answer, ...[...(answer.others ?? [])].sort((a, b) => a.instance.localeCompare(b.instance))];
}

/** The worse of two states. */
export function worseState(a: DoctorState, b: DoctorState): DoctorState {
  return DOCTOR_STATES.indexOf(a) >= DOCTOR_STATES.indexOf(b) ? a : b;
}
