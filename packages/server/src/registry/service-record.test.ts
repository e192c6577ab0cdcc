// Building records from registrations and patches, and telling real changes from no-ops.
import { describe, expect, it } from "vitest";
import { ServicePatchSchema, ServiceRegistrationSchema, type ServiceRecord } from "@kai/protocol";
import { applyPatch, classifyChange, protocolFromUrl, recordFromRegistration } from "./service-record.js";

/** A record from a registration body (no raw token in these: the auth goes in as given). */
function fromRegistration(body: unknown, id: string, owner: string, existing: ServiceRecord | null, nowIso: string) {
  const input = ServiceRegistrationSchema.parse(body);
  const { token: _token, ...auth } = input.auth;
  return recordFromRegistration(input, auth, id, owner, existing, nowIso);
}

const now = "2026-11-21T12:00:00.000Z";
const later = "2026-11-21T12:05:00.000Z";
const base = (): ServiceRecord => ({
  ...fromRegistration({ name: "x", url: "https://api.example.com/v1", ttl: 30, rateLimit: { rpm: 10 } }, "x", "alice", null, now),
  revision: 7,
});

describe("service records", () => {
  it("derives the protocol from the URL", () => {
    expect(protocolFromUrl("https://a")).toBe("https");
    expect(protocolFromUrl("wss://a")).toBe("ws");
    expect(protocolFromUrl("klp://a")).toBe("klp");
    expect(protocolFromUrl(undefined)).toBeUndefined();
    expect(base().protocol).toBe("https");
  });

  it("stores the fields in one order and leaves out the absent ones", () => {
    const record = fromRegistration({ name: "x", url: "https://api.example.com/v1", ttl: 30 }, "x", "alice", null, now);
    const keys = Object.keys(record);
    expect(keys.slice(0, 2)).toEqual(["id", "name"]);
    expect(keys.slice(-3)).toEqual(["status", "createdAt", "updatedAt"]);
    expect(keys.indexOf("url")).toBeLessThan(keys.indexOf("protocol"));
    expect(keys.indexOf("protocol")).toBeLessThan(keys.indexOf("auth"));
    expect(keys.indexOf("owner")).toBeLessThan(keys.indexOf("heartbeat"));
    expect(Object.values(record)).not.toContain(undefined);
    expect(record).not.toHaveProperty("rateLimit");
    expect(record).not.toHaveProperty("statusNote");
  });

  it("keeps createdAt across re-registration", () => {
    const again = fromRegistration({ name: "x" }, "x", "alice", base(), later);
    expect(again.createdAt).toBe(now);
    expect(again.updatedAt).toBe(later);
  });

  it("merge-patches, with null removing a field", () => {
    const next = applyPatch(base(), ServicePatchSchema.parse({ description: "d", rateLimit: null }), later);
    expect(next.description).toBe("d");
    expect(next.rateLimit).toBeUndefined();
    expect(next.ttl).toBe(30);
    expect("revision" in next).toBe(false);
  });

  it("classifies changes", () => {
    const record = base();
    const { revision: _r, ...same } = { ...record, updatedAt: later, heartbeat: later };
    expect(classifyChange(record, same)).toBe("none");
    expect(classifyChange(record, { ...same, status: "degraded", statusNote: "slow" })).toBe("status_changed");
    expect(classifyChange(record, { ...same, tags: ["new"] })).toBe("updated");
  });
});
