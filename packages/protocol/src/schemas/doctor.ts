/**
 * @module doctor
 * `GET /api/doctor` (scope admin; `kai doctor`, the web app's Overview): what on this instance needs an operator's
 * attention, checked now. Each check is about one area (TLS files, backups, disk space, log files, trace export, the
 * vault, first sign-in) and says `ok`, `warn` (act soon) or `fail` (act now), in words, with what to do when not ok.
 * The same facts are metrics and alerts for those who run Prometheus (docs/operations/metrics.md); this is the view
 * for those who do not, and the first thing to run when something seems wrong.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

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

export const DoctorResponseSchema = z.object({
  checkedAt: TimestampSchema,
  /** The instance that checked (its own disk, files and exports: on a node of several, each instance checks itself). */
  instance: z.string(),
  /** The worst state among the checks. */
  state: DoctorStateSchema,
  checks: z.array(DoctorCheckSchema),
});
export type DoctorResponse = z.infer<typeof DoctorResponseSchema>;

/** The worse of two states. */
export function worseState(a: DoctorState, b: DoctorState): DoctorState {
  return DOCTOR_STATES.indexOf(a) >= DOCTOR_STATES.indexOf(b) ? a : b;
}
