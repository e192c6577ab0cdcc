/**
 * @module test/storage/fixtures/records
 * Builds valid `ServiceDraft`s for storage tests: `fullDraft` sets every optional field (for round trips),
 * `draft` the minimum plus what a test overrides.
 */
import { ServiceRecordSchema } from "@kai/protocol";
import type { ServiceDraft, ServiceWrite } from "../../../src/storage/contracts/node-store.js";

const BASE_TIME = Date.parse("2025-01-02T03:04:05.678Z");

export function iso(offsetMs = 0): string {
  return new Date(BASE_TIME + offsetMs).toISOString();
}

export function draft(id: string, overrides: Partial<ServiceDraft> = {}): ServiceDraft {
  const record: ServiceDraft = {
    id,
    name: `Service ${id}`,
    description: "",
    type: "service",
    capabilities: [],
    tags: [],
    auth: { type: "none" },
    endpoints: [],
    owner: "alice",
    visibility: "public",
    trustLevel: "unverified",
    metadata: {},
    heartbeat: null,
    status: "active",
    createdAt: iso(),
    updatedAt: iso(),
    ...overrides,
  };
  // Guard the fixture itself: a draft the schema refuses would make every test using it meaningless.
  ServiceRecordSchema.parse({ ...record, revision: 1 });
  return record;
}

/** A draft with every optional field of ServiceRecord set to a non-default value. */
export function fullDraft(id: string): ServiceDraft {
  return draft(id, {
    name: "Full Service",
    description: "Has every field set",
    type: "agent",
    provider: "openai",
    capabilities: ["llm_chat", "embeddings"],
    tags: ["gpu", "region=eu"],
    url: "https://full.example.com/v1",
    protocol: "https",
    auth: { type: "api_key", credentialRef: "env:FULL_KEY", header: "X-Api-Key" },
    endpoints: [
      { path: "/chat", method: "POST", description: "chat", capability: "llm_chat" },
      { path: "/embed", method: "POST" },
    ],
    healthCheck: { path: "/health", method: "GET", interval: 30, timeout: 5, failuresBeforeOffline: 3, successesBeforeActive: 2 },
    rateLimit: { rpm: 600, tpm: 100_000, concurrency: 8 },
    version: "1.2.3",
    owner: "bob",
    visibility: "internal",
    trustLevel: "trusted",
    metadata: { models: ["gpt-x", "gpt-y"], nested: { depth: 2, flag: true, none: null }, ratio: 0.5, unicode: "héllo ✓" },
    ttl: 60,
    isLocal: true,
    heartbeat: iso(1000),
    status: "degraded",
    statusNote: "slow replies",
    createdAt: iso(),
    updatedAt: iso(2000),
  });
}

export function registered(record: ServiceDraft, expectedRevision?: number): ServiceWrite {
  return expectedRevision === undefined ? { event: "registered", record } : { event: "registered", record, expectedRevision };
}
