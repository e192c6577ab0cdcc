/**
 * @module doctor/cluster-doctor-relay
 * `kai doctor` on a node of several instances: every live instance's checks from any one of them. Each instance can
 * check only itself (its disk, its log files, its certificate files, its trace export), and behind a load balancer an
 * operator reaches whichever instance the request lands on; so the instance answering asks the others through the
 * cluster's signals, as the log relay does (logging/cluster-log-relay.ts, which says why signals and not HTTP):
 *
 * - `doctor_wanted { ask }`: each other live instance runs its own checks and answers `doctor_report { ask, instance,
 *   checkedAt, state, checks, done? }`, its checks in as many signals as they need (the last marked `done`);
 * - the asker waits until every live instance answered, or `DOCTOR_WAIT_MS`, and names those that did not (the ask
 *   and its answers are the log relay's mechanism: cluster/instance-asks.ts).
 *
 * The reports hold what `kai doctor` shows an admin: folder and file names, certificate expiry, free space, never a
 * secret (the checks' words are the node's own; doctor.test's canary covers them).
 */
import { DoctorCheckSchema, DoctorStateSchema, TimestampSchema, type DoctorCheck, type DoctorReport } from "@kai/protocol";
import { z } from "zod";
import { MAX_SIGNAL_BYTES, type ClusterSignals } from "../cluster/cluster-types.js";
import { InstanceAsks, type AskedInstance } from "../cluster/instance-asks.js";

/** How long the asker waits for the others' reports (each runs `statfs` and reads its backup folder: milliseconds). */
export const DOCTOR_WAIT_MS = 3000;

const WANTED = "doctor_wanted";
const REPORT = "doctor_report";
/** Room in a signal for the envelope around the checks (`ask`, `instance`, `checkedAt`, `state`, `done`). */
const ENVELOPE_BYTES = 600;
const CHECKS_BYTES = MAX_SIGNAL_BYTES - ENVELOPE_BYTES;
/** A check's summary and hint are cut to this many characters (at most 3 UTF-8 bytes each: both fit one signal). */
const CUT_CHARS = 500;

const WantedSchema = z.object({ ask: z.string().min(1).max(64) });
const ReportSchema = z.object({
  ask: z.string().min(1).max(64),
  instance: z.string().max(256),
  checkedAt: TimestampSchema,
  state: DoctorStateSchema,
  checks: z.array(DoctorCheckSchema),
  done: z.literal(true).optional(),
});
type ReportPayload = z.infer<typeof ReportSchema>;

/** What the relay needs of the node's cluster (cluster/cluster-types.ts). */
export interface DoctorRelayCluster {
  readonly instanceId: string;
  readonly signals: Pick<ClusterSignals, "publish" | "subscribe">;
  members(): Promise<AskedInstance[]>;
}

/** The other instances' reports, and the live ones that did not answer in time (by name). */
export interface OtherReports {
  reports: DoctorReport[];
  unanswered: string[];
}

/** Minimal logger (pino's fits). */
interface RelayLogger {
  warn(obj: object, msg?: string): void;
}

/** A check cut so that a signal can carry it (the node's checks are far shorter; this only bounds them). */
function fitted(check: DoctorCheck): DoctorCheck {
  if (Buffer.byteLength(JSON.stringify(check)) <= CHECKS_BYTES) return check;
  const cut = (text: string) => (text.length > CUT_CHARS ? `${text.slice(0, CUT_CHARS)}…` : text);
  return { ...check, summary: cut(check.summary), ...(check.hint !== undefined ? { hint: cut(check.hint) } : {}) };
}

/** Checks in chunks a signal can carry, in order; at least one (possibly empty) chunk. */
function chunked(checks: readonly DoctorCheck[]): DoctorCheck[][] {
  const chunks: DoctorCheck[][] = [[]];
  let size = 0;
  for (const original of checks) {
    const check = fitted(original);
    const bytes = Buffer.byteLength(JSON.stringify(check)) + 1;
    if (chunks[chunks.length - 1]!.length > 0 && size + bytes > CHECKS_BYTES) {
      chunks.push([]);
      size = 0;
    }
    chunks[chunks.length - 1]!.push(check);
    size += bytes;
  }
  return chunks;
}

export class ClusterDoctorRelay {
  /** This instance's asks of the others, and their reports. */
  private readonly asks: InstanceAsks<ReportPayload>;
  private readonly offWanted: () => void;
  private closed = false;

  constructor(
    private readonly cluster: DoctorRelayCluster,
    /** This instance's own checks (doctor/node-doctor.ts). */
    private readonly checkSelf: () => Promise<DoctorReport>,
    private readonly logger: RelayLogger,
  ) {
    this.asks = new InstanceAsks(cluster.signals, REPORT, ReportSchema);
    this.offWanted = cluster.signals.subscribe(WANTED, (payload, meta) => {
      if (meta.fromSelf) return;
      const parsed = WantedSchema.safeParse(payload);
      if (parsed.success) void this.answer(parsed.data.ask);
    });
  }

  /**
   * The other live instances' reports, in the order they finished, until each answered or `waitMs` passed. When the
   * cluster's database cannot be reached, none, and every other instance is unknown: the caller still has its own.
   */
  async others(waitMs = DOCTOR_WAIT_MS): Promise<OtherReports> {
    const cantAsk = (error: unknown) => this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "the other instances could not be asked for their checks");
    let others: AskedInstance[];
    try {
      others = (await this.cluster.members()).filter((member) => member.instanceId !== this.cluster.instanceId);
    } catch (error) {
      cantAsk(error);
      return { reports: [], unanswered: [] };
    }
    // Each instance's report as its signals arrive; whole once its last one (`done`) is in.
    const partial = new Map<string, DoctorReport>();
    const reports: DoctorReport[] = [];
    try {
      const unanswered = await this.asks.gather(others, (ask) => this.cluster.signals.publish(WANTED, { ask }), waitMs, (payload, origin) => {
        const report = partial.get(origin) ?? { checkedAt: payload.checkedAt, instance: payload.instance, state: payload.state, checks: [] };
        report.checks.push(...payload.checks);
        partial.set(origin, report);
        if (payload.done) reports.push(report);
      });
      return { reports, unanswered };
    } catch (error) {
      // The ask could not be sent: every other instance's checks are unknown.
      cantAsk(error);
      return { reports: [], unanswered: others.map((member) => member.name) };
    }
  }

  close(): void {
    this.closed = true;
    this.offWanted();
    this.asks.close();
  }

  /** Runs this instance's checks and sends them to the asker. */
  private async answer(ask: string): Promise<void> {
    try {
      const report = await this.checkSelf();
      const chunks = chunked(report.checks);
      for (const [index, checks] of chunks.entries()) {
        if (this.closed) return;
        await this.cluster.signals.publish(REPORT, {
          ask,
          instance: report.instance,
          checkedAt: report.checkedAt,
          state: report.state,
          checks,
          ...(index === chunks.length - 1 ? { done: true } : {}),
        });
      }
    } catch (error) {
      if (!this.closed) this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "this instance's checks could not be sent to the instance that asked");
    }
  }
}
