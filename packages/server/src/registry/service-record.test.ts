// Building records from registrations and patches, and telling real changes from no-ops.
import { describe, expect, it } from "vitest";
import { ServicePatchSchema, ServiceRegistrationSchema, type ServiceRecord } from "@kai/protocol";
import { applyPatch, classifyChange, protocolFromUrl, recordFromRegistration } from "./service-record.js";

const now = "2026-11-21T12:00:00.000Z";
const later = "2026-11-21T12:05:00.000Z";
const base = (): ServiceRecord => ({
  ...recordFromRegistration(ServiceRegistrationSchema.parse({ name: "x", url: "https://api.example.com/v1", ttl: 30, rateLimit: { rpm: 10 } }), "x", "alice", null, now),
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

  it("keeps createdAt across re-registration", () => {
    const again = recordFromRegistration(ServiceRegistrationSchema.parse({ name: "x" }), "x", "alice", base(), later);
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
