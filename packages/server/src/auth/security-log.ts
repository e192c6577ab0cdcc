/**
 * @module auth/security-log
 * The security log: every sign-in, failure, lockout, second-factor change, role change and session revocation is
 * appended to the identity store (listed by `GET /api/security/events`) and written as one log line with category
 * `security`. Details are non-secret context only; callers never pass a password, code, token or cookie, and the
 * log line carries the event's fields, not the request. The node gives it `createLogger`'s `securityLogger`, so that
 * the line is written whatever `logging.level` says (logging/security-lines.ts): the level governs the system log's
 * verbosity, not what the security log records.
 */
import type { IdentityStore, NewSecurityEvent, SecurityEventRow } from "../storage/contracts/identity-store.js";
import type { SecurityEventObserver } from "./security-metrics.js";

/** What a caller records; `at` defaults to now, the rest to null/empty. */
export interface SecurityEventInput {
  type: string;
  outcome: "success" | "failure";
  userId?: string | null;
  username?: string | null;
  actor?: string | null;
  address?: string | null;
  details?: Record<string, unknown>;
  at?: string;
}

/** The logger the security log writes to (pino's fits). */
export interface SecurityLogLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Detail keys that must never be recorded, whoever passes them (a second line of defence). */
const SECRET_KEYS = /pass(word)?|secret|token|code|cookie|csrf|authorization|signature|response/i;

export class SecurityLog {
  constructor(
    private readonly store: Pick<IdentityStore, "appendSecurityEvent" | "listSecurityEvents">,
    /** Where the events' lines go: the node's security logger (`createLogger`'s `securityLogger`). */
    private readonly logger: SecurityLogLogger,
    private readonly now: () => number = Date.now,
    /** Told each event once it is recorded (the `kai_security_events_total` metric). */
    private readonly observe: SecurityEventObserver = () => undefined,
  ) {}

  /** Appends the event and logs it; resolves with the stored row. */
  async record(input: SecurityEventInput): Promise<SecurityEventRow> {
    const event: NewSecurityEvent = {
      at: input.at ?? new Date(this.now()).toISOString(),
      type: input.type,
      outcome: input.outcome,
      userId: input.userId ?? null,
      username: input.username ?? null,
      actor: input.actor ?? null,
      address: input.address ?? null,
      details: scrub(input.details ?? {}),
    };
    const row = await this.store.appendSecurityEvent(event);
    this.observe(row.type, row.outcome);
    const line = { category: "security", event: row.type, outcome: row.outcome, seq: row.seq, userId: row.userId, username: row.username, actor: row.actor, address: row.address, details: row.details };
    if (row.outcome === "failure") this.logger.warn(line, `security: ${row.type}`);
    else this.logger.info(line, `security: ${row.type}`);
    return row;
  }

  /** Records without waiting and without failing the caller: for events on paths that already answered. */
  recordLater(input: SecurityEventInput): void {
    this.record(input).catch((error: unknown) => this.logger.warn({ category: "security", event: input.type, err: error instanceof Error ? error.message : String(error) }, "a security event could not be recorded"));
  }

  list(query: Parameters<IdentityStore["listSecurityEvents"]>[0]): Promise<SecurityEventRow[]> {
    return this.store.listSecurityEvents(query);
  }
}

/** Drops detail keys that look like secrets (callers should never pass them; this keeps a slip out of the log). */
function scrub(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) if (!SECRET_KEYS.test(key)) out[key] = value;
  return out;
}
