import { describe, expect, it } from "vitest";
import { MemoryIdentityStore } from "../storage/memory/memory-identity-store.js";
import type { SessionRow } from "../storage/contracts/identity-store.js";
import { ENDED_SESSION_RETENTION_MS, signInPruningJob } from "./sign-in-pruning.js";

const NOW = Date.parse("2026-12-03T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function session(id: string, endedAt: number | null): SessionRow {
  const created = iso(NOW - 40 * 86_400_000);
  return {
    id, userId: "u1", method: "password", mfa: false, refreshHash: `h-${id}`, previousRefreshHash: null, rotatedAt: created, generation: 0,
    createdAt: created, lastUsedAt: created, idleExpiresAt: iso(NOW + 86_400_000), expiresAt: iso(NOW + 86_400_000),
    revokedAt: endedAt === null ? null : iso(endedAt), revokedReason: endedAt === null ? null : "logout", userAgent: null, address: null,
  };
}

describe("sign-in pruning job", () => {
  it("deletes expired challenges and sessions ended longer ago than the retention, and keeps the rest", async () => {
    const store = new MemoryIdentityStore(() => undefined);
    await store.putChallenge({ id: "old", kind: "agent_sign_in", subject: null, data: "{}", expiresAt: iso(NOW - 1000), createdAt: iso(NOW - 61_000) });
    await store.putChallenge({ id: "live", kind: "agent_sign_in", subject: null, data: "{}", expiresAt: iso(NOW + 60_000), createdAt: iso(NOW) });
    await store.insertSession(session("long-ended", NOW - ENDED_SESSION_RETENTION_MS - 60_000));
    await store.insertSession(session("recently-ended", NOW - 86_400_000));
    await store.insertSession(session("live", null));

    const job = signInPruningJob({ store, logger: { warn: () => undefined }, now: () => NOW });
    job.start();
    job.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(await store.takeChallenge("old", "agent_sign_in", iso(NOW - 2000))).toBeNull();
    expect(await store.takeChallenge("live", "agent_sign_in", iso(NOW))).not.toBeNull();
    expect(await store.getSession("long-ended")).toBeNull();
    expect(await store.getSession("recently-ended")).not.toBeNull();
    expect(await store.getSession("live")).not.toBeNull();
  });
});
