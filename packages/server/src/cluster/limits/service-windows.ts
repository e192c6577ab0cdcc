/**
 * @module cluster/limits/service-windows
 * The gateway's per-service RPM and TPM limits (`rateLimit.rpm` / `tpm` of a service record) counted for the
 * whole node, when it runs as several instances: each attempt dispatched to a service takes one request from
 * its shared minute (before it is sent), and the tokens of each answer are added to its shared token minute
 * (after it arrived: only then are they known). A service whose token minute is already full is not sent
 * more. Both checks of an attempt travel together (one round trip of latency).
 *
 * When no shared store answers, each instance counts its share in memory (limit ÷ live instances): the
 * gateway does not need the database to route, so a database outage must not stop it, and a provider that is
 * pushed too hard still answers 429, which the router honours with a cooldown.
 *
 * Tokens may overshoot a TPM limit by the answers in flight when it fills (they were admitted before their
 * tokens were known), as on a single instance.
 */
import type { RateLimits, WindowCounter } from "./limit-types.js";

/** What this module reads of a service record. */
export interface RateLimitedService {
  readonly id: string;
  readonly rateLimit?: { readonly rpm?: number | undefined; readonly tpm?: number | undefined } | undefined;
}

export interface ServiceLimitRefusal {
  readonly limit: "rpm" | "tpm";
  /** Ms until the window that refused ends. */
  readonly waitMs: number;
}

export interface ServiceWindowsLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

const MINUTE = 60_000;

export class SharedServiceWindows {
  private readonly requests: WindowCounter;
  private readonly tokens: WindowCounter;

  constructor(
    limits: RateLimits,
    private readonly logger?: ServiceWindowsLogger,
  ) {
    this.requests = limits.counter("svc_rpm", MINUTE, { whenDown: "local" });
    this.tokens = limits.counter("svc_tpm", MINUTE, { whenDown: "local" });
  }

  /** True when the service has an RPM or TPM limit (otherwise nothing is counted for it). */
  applies(service: RateLimitedService): boolean {
    return service.rateLimit?.rpm !== undefined || service.rateLimit?.tpm !== undefined;
  }

  /**
   * Takes one request from the service's shared minute and checks its token minute. Null = send it; otherwise
   * the limit that refused (its request is given back when only the token minute refused).
   */
  async admit(service: RateLimitedService): Promise<ServiceLimitRefusal | null> {
    const { rpm, tpm } = service.rateLimit ?? {};
    const [requests, tokens] = await Promise.all([
      rpm !== undefined ? this.requests.add(service.id) : undefined,
      tpm !== undefined ? this.tokens.read(service.id) : undefined,
    ]);
    if (tokens && tpm !== undefined && tokens.total >= tpm) {
      if (requests) void this.requests.refund(service.id);
      return { limit: "tpm", waitMs: Math.max(1, tokens.resetMs) };
    }
    if (requests && rpm !== undefined && requests.total > rpm) return { limit: "rpm", waitMs: Math.max(1, requests.resetMs) };
    return null;
  }

  /** Gives back the request of an admitted attempt that was not sent after all. */
  release(service: RateLimitedService): void {
    if (service.rateLimit?.rpm !== undefined) void this.requests.refund(service.id);
  }

  /** Adds an answer's tokens to the service's shared token minute; in the background (the answer is not held). */
  charge(service: RateLimitedService, tokens: number): void {
    if (service.rateLimit?.tpm === undefined || !(tokens > 0)) return;
    this.tokens.add(service.id, Math.ceil(tokens)).catch((error: unknown) => {
      this.logger?.warn({ serviceId: service.id, err: { message: error instanceof Error ? error.message : String(error) } }, "could not count a service's tokens");
    });
  }
}
