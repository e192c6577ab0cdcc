/**
 * Step assignment's shared discovery (src/agents/kcore/assignment-candidates.ts): steps assigned in the same run of
 * the job queues share one registry answer; a step assigned after a timer or I/O callback asks again, so a health
 * verdict or registry change that came before it is always in its answer; a query in flight is joined; the later
 * asks of one turn of the event loop share one query made at its end; viewers who see different records never
 * share an answer. The registry is a stand-in for its `list` only: what is tested is
 * when the cache asks it, not what it answers. On one process (a registry with a listing version) an answer is kept
 * until the version changes; with a real registry, a registration, a status change and a health verdict each do.
 */
import { describe, expect, it } from "vitest";
import pino from "pino";
import { ServiceRegistrationSchema, type ListServicesQuery, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../../../src/auth/principal.js";
import { AssignmentCandidates } from "../../../src/agents/kcore/assignment-candidates.js";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { HealthVerdicts } from "../../../src/registry/health-verdicts.js";
import { LeaseTable } from "../../../src/registry/lease-table.js";
import { RegistryService } from "../../../src/registry/registry-service.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import { registration } from "../../helpers/test-server.js";

const principal = (owner: string): Principal => ({ tokenId: `t-${owner}`, owner, scopes: ["tasks:run"], expiresAt: Number.MAX_SAFE_INTEGER });

function registry() {
  const state = { health: "passing" as ServiceRecord["health"], calls: [] as Array<{ owner: string; query: ListServicesQuery }> };
  return {
    state,
    list: async (who: Principal, query: ListServicesQuery) => {
      state.calls.push({ owner: who.owner, query });
      const record = { id: "kExec:a", type: "agent", owner: "alice", url: "http://127.0.0.1:1/step", revision: 7, health: state.health, metadata: {} } as unknown as ServiceRecord;
      return { services: [record], revision: 1, nextCursor: null };
    },
  };
}

describe("assignment candidates", () => {
  it("shares one answer among the steps assigned together, and asks again after a callback could have changed it", async () => {
    const reg = registry();
    const candidates = new AssignmentCandidates(reg);
    const together = await Promise.all([candidates.find(principal("alice"), "echo"), candidates.find(principal("alice"), "echo")]);
    expect(reg.state.calls).toHaveLength(1);
    expect(together[0]).toBe(together[1]);
    expect(reg.state.calls[0]!.query).toMatchObject({ type: ["agent", "tool"], status: ["active"], capability: ["echo"] });
    // A health verdict arrives in a later callback: the next step sees it.
    await new Promise((resolve) => setImmediate(resolve));
    reg.state.health = "failing";
    const later = await candidates.find(principal("alice"), "echo");
    expect(reg.state.calls).toHaveLength(2);
    expect(later[0]!.record.health).toBe("failing");
    // Parsed once per record revision (same revision: the same assignee part).
    expect(later[0]!.assignee).toBe(together[0]![0]!.assignee);
    expect(later[0]!.assignee).toMatchObject({ kind: "agent", id: "kExec:a", transport: "http", limit: 4 });
  });

  it("answers the later asks of one turn with one query made at its end, which sees what changed before it", async () => {
    const reg = registry();
    const candidates = new AssignmentCandidates(reg);
    // One turn of the event loop (a timer's callback and the jobs it queues), as when many agents' answers arrive at once.
    const { first, later } = await new Promise<{ first: Awaited<ReturnType<AssignmentCandidates["find"]>>; later: Array<Awaited<ReturnType<AssignmentCandidates["find"]>>> }>((resolve) => {
      setTimeout(() => {
        void (async () => {
          const first = await candidates.find(principal("alice"), "echo");
          // The first answer is no longer shared; a verdict changes; more steps ask in the same turn.
          await new Promise((done) => process.nextTick(done));
          expect(reg.state.calls).toHaveLength(1);
          reg.state.health = "failing";
          const asks = [candidates.find(principal("alice"), "echo"), candidates.find(principal("alice"), "echo")];
          // Not asked yet: the query waits for the end of the turn, and the asks that come meanwhile join it.
          expect(reg.state.calls).toHaveLength(1);
          const later = await Promise.all([...asks, candidates.find(principal("alice"), "echo")]);
          resolve({ first, later });
        })();
      }, 0);
    });
    expect(reg.state.calls).toHaveLength(2);
    expect(first[0]!.record.health).toBe("passing");
    expect(later[0]).toBe(later[1]);
    expect(later[0]).toBe(later[2]);
    expect(later[0]![0]!.record.health).toBe("failing");
  });

  it("never shares an answer between viewers or capabilities", async () => {
    const reg = registry();
    const candidates = new AssignmentCandidates(reg);
    await Promise.all([candidates.find(principal("alice"), "echo"), candidates.find(principal("bob"), "echo"), candidates.find(principal("alice"), "other")]);
    expect(reg.state.calls.map((call) => `${call.owner}:${call.query.capability?.join()}`).sort()).toEqual(["alice:echo", "alice:other", "bob:echo"]);
  });

  it("on one process keeps an answer while the listing version stays, across turns, and asks again once it changes", async () => {
    const reg = { ...registry(), version: "1:0" };
    const candidates = new AssignmentCandidates({ list: reg.list, listingVersion: () => reg.version });
    const first = await candidates.find(principal("alice"), "echo");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await candidates.find(principal("alice"), "echo")).toBe(first);
    expect(reg.state.calls).toHaveLength(1);
    // Not shared across viewers even with the same version.
    await candidates.find(principal("bob"), "echo");
    expect(reg.state.calls).toHaveLength(2);
    reg.version = "1:1";
    reg.state.health = "failing";
    const after = await candidates.find(principal("alice"), "echo");
    expect(reg.state.calls).toHaveLength(3);
    expect(after[0]!.record.health).toBe("failing");
  });

  it("does not keep a failed query", async () => {
    let fail = true;
    const reg = registry();
    const candidates = new AssignmentCandidates({
      list: async (who, query) => {
        if (fail) throw new Error("store unavailable");
        return reg.list(who, query);
      },
      listingVersion: () => "1:0",
    });
    await expect(candidates.find(principal("alice"), "echo")).rejects.toThrow("store unavailable");
    fail = false;
    expect(await candidates.find(principal("alice"), "echo")).toHaveLength(1);
  });

  it("with a real registry, a registration, a status change and a health verdict each make the next step ask again", async () => {
    const logger = pino({ level: "silent" });
    const store = new MemoryStore();
    const verdicts = new HealthVerdicts();
    const registryService = new RegistryService({ store, feed: new ChangeFeed(await store.currentRevision(), 100, logger), leases: new LeaseTable(), health: verdicts });
    const admin: Principal = { tokenId: "t-admin", owner: "admin", scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };
    const register = (id: string) => registryService.register(admin, ServiceRegistrationSchema.parse(registration({ id, type: "agent", capabilities: ["echo"], url: "http://127.0.0.1:9/step" })));
    const candidates = new AssignmentCandidates(registryService);
    const ids = async () => (await candidates.find(admin, "echo")).map(({ record }) => `${record.id}:${record.health}`);
    await register("agent-a");
    expect(await ids()).toEqual(["agent-a:unknown"]);
    await register("agent-b");
    expect(await ids()).toEqual(["agent-a:unknown", "agent-b:unknown"]);
    expect(await registryService.setStatusBySystem("agent-a", "offline", "test")).toBe(true);
    expect(await ids()).toEqual(["agent-b:unknown"]);
    verdicts.set("agent-b", "failing");
    expect(await ids()).toEqual(["agent-b:failing"]);
    // Nothing changed, even after other callbacks ran: the same answer, no query.
    const kept = await candidates.find(admin, "echo");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await candidates.find(admin, "echo")).toBe(kept);
  });
});
