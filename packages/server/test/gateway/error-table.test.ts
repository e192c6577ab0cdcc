// The one error table (ERROR_TABLE, @kai/protocol): every code has a status; the gateway traits sit only on codes a
// routed attempt can actually fail with (produced here by the real upstream mapping, not listed by hand); the views
// derived from it (status by code, the retryOn/failoverOn defaults, UpstreamError.retryable, refineError) agree with
// it; and the sets the router used before the table existed are exactly what it says (behaviour unchanged).
import { describe, expect, it } from "vitest";
import {
  DEFAULT_FAILOVER_ON,
  DEFAULT_RETRY_ON,
  ERROR_STATUS,
  ERROR_TABLE,
  ERROR_TRAITS,
  ErrorCodeSchema,
  KLP_HTTP_STATUS,
  errorCodesWith,
  klp,
  type ErrorCode,
} from "@kai/protocol";
import { ConfigSchema } from "../../src/config/config-schema.js";
import { refineError } from "../../src/gateway/connectors/support.js";
import { routerOptions } from "../../src/gateway/router/router-options.js";
import { UpstreamError, errorFromException, errorFromStatus, responseTooLarge, type AbortCause } from "../../src/gateway/upstream/upstream-error.js";

const CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

/** Every code the upstream layer maps a provider's answer or a failed call to, found by driving the mapping itself. */
function upstreamCodes(): Set<ErrorCode> {
  const codes = new Set<ErrorCode>();
  for (let status = 300; status < 600; status++) {
    for (const body of ["", '{"error":{"message":"model gpt-x not found"}}']) {
      const failure = errorFromStatus("P", status, body, null);
      codes.add(failure.code);
      // What a resource connector (vectors, workflows, images) makes of the same answer.
      codes.add((refineError(failure) as UpstreamError).code);
    }
  }
  for (const cause of [undefined, "timeout", "idle", "cancelled", "done"] as (AbortCause | undefined)[]) {
    codes.add(errorFromException("P", new Error("socket hang up"), cause).code);
  }
  codes.add(responseTooLarge("P", 1).code);
  return codes;
}

/**
 * What else a routed attempt fails with: the router's own verdicts (deadline → upstream_timeout, client gone →
 * request_cancelled, a broken relay → upstream_stream_broken), and the codes the credential lookup throws before a
 * call (router/credentials.ts; driven against the real vault in router/credentials.test.ts).
 */
const ROUTER_CODES: readonly ErrorCode[] = ["upstream_timeout", "request_cancelled", "upstream_stream_broken"];
const CREDENTIAL_CODES: readonly ErrorCode[] = ["credential_unavailable", "vault_locked", "vault_not_initialized"];

describe("the error table", () => {
  it("gives every code an HTTP error status, and the schema and status view are derived from it", () => {
    expect(ErrorCodeSchema.options).toEqual(CODES);
    for (const code of CODES) {
      const status = ERROR_TABLE[code].status;
      expect(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`).toBe(true);
      expect(ERROR_STATUS[code]).toBe(status);
    }
  });

  it("puts gateway traits only on codes a routed attempt can fail with", () => {
    const attemptCodes = new Set<ErrorCode>([...upstreamCodes(), ...ROUTER_CODES, ...CREDENTIAL_CODES]);
    for (const flag of ["retryable", "retry", "failover", "serviceFault", "nothingSent"] as const) {
      for (const code of errorCodesWith(flag)) expect(attemptCodes.has(code), `${flag}: ${code}`).toBe(true);
    }
    for (const code of CODES) if (ERROR_TRAITS[code].resourceStatus !== undefined) expect(attemptCodes.has(code), code).toBe(true);
  });

  it("keeps its traits consistent with one another", () => {
    for (const code of CODES) {
      const traits = ERROR_TRAITS[code];
      // A code retried on the same service is worth retrying, and moves on when retries are spent.
      if (traits.retry) expect(traits.retryable && traits.failover, code).toBe(true);
      // A fault of the service is never the final answer: another service may be healthy.
      if (traits.serviceFault) expect(traits.failover, code).toBe(true);
      // An answer about the caller's named thing is final: no retry, no failover, no blame.
      if (traits.resourceStatus !== undefined) expect(traits.retryable || traits.failover || traits.serviceFault, code).toBeFalsy();
    }
    const resourceStatuses = CODES.map((code) => ERROR_TRAITS[code].resourceStatus).filter((status) => status !== undefined);
    expect(new Set(resourceStatuses).size).toBe(resourceStatuses.length);
  });

  it("is where the config defaults of retryOn and failoverOn come from", () => {
    const gateway = ConfigSchema.parse({}).gateway;
    expect(gateway.failoverOn).toEqual(DEFAULT_FAILOVER_ON);
    expect(gateway.retryOn).toEqual(DEFAULT_RETRY_ON);
    expect(routerOptions().failoverOn).toEqual(DEFAULT_FAILOVER_ON);
    // Each parse gets its own list: a caller that edits its config cannot change the defaults.
    expect(ConfigSchema.parse({}).gateway.failoverOn).not.toBe(gateway.failoverOn);
  });

  it("decides UpstreamError.retryable and refineError's re-coding", () => {
    for (const code of CODES) expect(new UpstreamError(code, "x").retryable, code).toBe(ERROR_TRAITS[code].retryable === true);
    expect((refineError(errorFromStatus("P", 404, "no such collection", null)) as UpstreamError).code).toBe("upstream_not_found");
    expect((refineError(errorFromStatus("P", 409, "exists", null)) as UpstreamError).code).toBe("upstream_conflict");
    expect((refineError(errorFromStatus("P", 500, "boom", null)) as UpstreamError).code).toBe("upstream_error");
  });

  it("says exactly what the router's separate sets said before it (behaviour unchanged)", () => {
    const sorted = (codes: readonly string[]) => [...codes].sort();
    expect(sorted(DEFAULT_FAILOVER_ON)).toEqual(
      sorted([
        "upstream_rate_limited",
        "upstream_error",
        "upstream_unreachable",
        "upstream_timeout",
        "upstream_invalid_response",
        "upstream_stream_broken",
        "upstream_auth_failed",
        "model_not_found",
        "credential_unavailable",
        "vault_locked",
      ]),
    );
    expect(sorted(DEFAULT_RETRY_ON)).toEqual(["upstream_error", "upstream_unreachable"]);
    expect(sorted(errorCodesWith("serviceFault"))).toEqual(
      sorted(["upstream_error", "upstream_unreachable", "upstream_timeout", "upstream_invalid_response", "upstream_stream_broken", "upstream_auth_failed"]),
    );
    expect(sorted(errorCodesWith("nothingSent"))).toEqual(sorted(["upstream_unreachable", "credential_unavailable", "vault_locked", "vault_not_initialized"]));
    expect(sorted(errorCodesWith("retryable"))).toEqual(
      sorted(["upstream_rate_limited", "upstream_error", "upstream_timeout", "upstream_unreachable", "upstream_stream_broken", "upstream_invalid_response"]),
    );
  });

  it("gives every KLP code an HTTP error status", () => {
    expect(Object.keys(KLP_HTTP_STATUS).sort()).toEqual([...klp.KLP_ERROR_CODES].sort());
    for (const code of klp.KLP_ERROR_CODES) expect(KLP_HTTP_STATUS[code] >= 400 && KLP_HTTP_STATUS[code] <= 599, code).toBe(true);
  });
});
