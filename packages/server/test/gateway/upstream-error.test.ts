// Unit tests of error mapping, Retry-After parsing and credential redaction.
import { describe, expect, it } from "vitest";
import { errorFromStatus, parseRetryAfter, providerMessage, redact } from "../../src/gateway/upstream/upstream-error.js";

describe("redact", () => {
  it("removes the exact credential and key-shaped tokens", () => {
    expect(redact("key my-plain-secret-value was wrong", "my-plain-secret-value")).toBe("key [redacted] was wrong");
    expect(redact("Incorrect API key provided: sk-proj-****abcd1234.")).not.toContain("abcd1234");
    expect(redact("header was Bearer abc.def.ghi")).toBe("header was [redacted]");
    expect(redact("nothing secret here")).toBe("nothing secret here");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds, HTTP dates and body hints", () => {
    expect(parseRetryAfter("12", "")).toBe(12);
    expect(parseRetryAfter(new Date(10_000 + 5_000).toUTCString(), "", 10_000)).toBe(5);
    expect(parseRetryAfter(null, "Rate limit reached. Please try again in 1.5s.")).toBe(1.5);
    expect(parseRetryAfter(null, "retry after 250ms")).toBe(0.25);
    expect(parseRetryAfter(null, "slow down")).toBeUndefined();
  });
});

describe("providerMessage", () => {
  it("understands OpenAI, Anthropic and Ollama error bodies", () => {
    expect(providerMessage('{"error":{"message":"bad model","type":"x"}}')).toBe("bad model");
    expect(providerMessage('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe("Overloaded");
    expect(providerMessage('{"error":"model not found"}')).toBe("model not found");
    expect(providerMessage("<html>502 Bad Gateway</html>")).toBe("<html>502 Bad Gateway</html>");
  });
});

describe("errorFromStatus", () => {
  const map = (status: number, body = "{}", retryAfter: string | null = null) => errorFromStatus("P", status, body, retryAfter, "sk-live-SECRETSECRET");
  it("maps statuses to stable codes", () => {
    expect(map(429, "{}", "2")).toMatchObject({ code: "upstream_rate_limited", status: 429, retryAfterSeconds: 2, retryable: true });
    expect(map(401)).toMatchObject({ code: "upstream_auth_failed", status: 502, retryable: false });
    expect(map(404, '{"error":"model \\"x\\" not found"}')).toMatchObject({ code: "model_not_found", status: 404 });
    expect(map(404, '{"error":"page not found"}')).toMatchObject({ code: "upstream_error" });
    expect(map(400)).toMatchObject({ code: "upstream_bad_request", status: 400, retryable: false });
    expect(map(504)).toMatchObject({ code: "upstream_timeout", status: 504 });
    expect(map(529, "{}", "4")).toMatchObject({ code: "upstream_error", upstreamStatus: 529, retryAfterSeconds: 4 });
  });
  it("never echoes the credential", () => {
    const error = map(401, '{"error":{"message":"Incorrect API key provided: sk-live-SECRETSECRET"}}');
    expect(error.message).not.toContain("SECRET");
  });
});
