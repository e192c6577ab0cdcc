// The router's small parts on their own: the sliding window behind RPM/TPM, the circuit breaker's state
// machine, what counts as a local service, and the directory's pooled lists.
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../../src/gateway/router/circuit-breaker.js";
import { isLocalHost, isLocalService } from "../../../src/gateway/router/is-local.js";
import { SlidingWindow } from "../../../src/gateway/router/sliding-window.js";
import { ServiceDirectory } from "../../../src/gateway/router/service-directory.js";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { MemoryStore } from "../../../src/storage/memory/memory-store.js";
import type { ServiceRecord } from "@kai/protocol";
import { draft } from "../../storage/__fixtures__/records.js";

describe("SlidingWindow", () => {
  it("sums the last minute and says when enough slid out", () => {
    const window = new SlidingWindow();
    const t0 = 1_000_000_000;
    window.add(3, t0);
    window.add(2, t0 + 30_000);
    expect(window.total(t0 + 30_000)).toBe(5);
    expect(window.waitUntilBelow(5, t0 + 30_000)).toBe(30_000); // the first 3 leave at t0+60s
    expect(window.waitUntilBelow(3, t0 + 30_000)).toBe(30_000);
    expect(window.waitUntilBelow(2, t0 + 30_000)).toBe(60_000); // both must leave
    expect(window.waitUntilBelow(6, t0 + 30_000)).toBe(0);
    expect(window.total(t0 + 60_000)).toBe(2);
    expect(window.total(t0 + 90_000)).toBe(0);
  });
});

describe("CircuitBreaker", () => {
  it("opens after the threshold, admits one probe when half-open, doubles the period on a failed probe", () => {
    const changes: string[] = [];
    const breaker = new CircuitBreaker({ failureThreshold: 2, openMs: 100, maxOpenMs: 250 }, (from, to) => changes.push(`${from}->${to}`));
    breaker.failure(0);
    expect(breaker.state(0)).toBe("closed");
    breaker.success(); // resets the count
    breaker.failure(0);
    expect(breaker.state(0)).toBe("closed");
    breaker.failure(0);
    expect(breaker.state(0)).toBe("open");
    expect(breaker.admit(50)).toBe("deny");
    expect(breaker.retryAfterMs(50)).toBe(50);
    expect(breaker.admit(100)).toBe("probe");
    expect(breaker.admit(100)).toBe("deny"); // only one probe at a time
    breaker.failure(110);
    expect(breaker.retryAfterMs(110)).toBe(200);
    expect(breaker.admit(310)).toBe("probe");
    breaker.failure(310);
    expect(breaker.retryAfterMs(310)).toBe(250); // capped
    breaker.healthy(320); // a passing health check ends the period
    expect(breaker.admit(320)).toBe("probe");
    breaker.success();
    expect(breaker.state(320)).toBe("closed");
    expect(changes).toEqual(["closed->open", "open->half_open", "half_open->open", "open->half_open", "half_open->open", "open->half_open", "half_open->closed"]);
  });

  it("a released probe frees the slot without a verdict", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 10, maxOpenMs: 10 });
    breaker.failure(0);
    expect(breaker.admit(10)).toBe("probe");
    breaker.release();
    expect(breaker.admit(10)).toBe("probe");
  });
});

describe("isLocal", () => {
  it("knows loopback, private and local names, and lets the record decide first", () => {
    for (const host of ["127.0.0.1", "10.1.2.3", "172.20.0.5", "192.168.1.10", "[::1]", "fd00::1", "localhost", "gpu-box.local", "::ffff:192.168.0.2"]) expect(isLocalHost(host)).toBe(true);
    for (const host of ["8.8.8.8", "172.32.0.1", "api.openai.com", "2001:db8::1"]) expect(isLocalHost(host)).toBe(false);
    expect(isLocalService({ url: "https://api.openai.com", metadata: {} })).toBe(false);
    expect(isLocalService({ url: "https://api.openai.com", metadata: { isLocal: true } })).toBe(true);
    expect(isLocalService({ url: "http://127.0.0.1:11434", metadata: {}, isLocal: false })).toBe(false);
  });
});

describe("ServiceDirectory's pooled lists", () => {
  it("gives records with equal capability and tag lists one array, and never one array to different lists", async () => {
    const store = new MemoryStore();
    const feed = new ChangeFeed(await store.currentRevision(), 100);
    const directory = new ServiceDirectory(store, feed);
    await directory.start();
    const lists: Array<[string[], string[]]> = [
      [["llm_chat", "embeddings"], ["region=eu", "bench"]],
      [["llm_chat", "embeddings"], ["region=eu", "bench"]],
      [["llm_chat"], ["region=eu"]],
      [["llm_chat", "image_generation"], ["region=eu", "bench", "gold"]],
      [[], []],
      [[], []],
    ];
    let revision = 0;
    lists.forEach(([capabilities, tags], index) => {
      revision++;
      // Fresh arrays each time, as the JSON parser makes them.
      const service = { ...draft(`svc-${index}`), capabilities: [...capabilities], tags: [...tags], revision } as ServiceRecord;
      feed.publish({ event: { event: "registered", revision, service }, previous: null });
    });
    const entry = (index: number) => directory.get(`svc-${index}`)!;
    expect(entry(1).capabilities).toBe(entry(0).capabilities);
    expect(entry(1).tags).toBe(entry(0).tags);
    expect(entry(5).capabilities).toBe(entry(4).capabilities);
    for (const [a, b] of [[0, 2], [0, 3], [2, 3], [0, 4]] as const) {
      expect(entry(a).capabilities).not.toBe(entry(b).capabilities);
      expect(entry(a).tags).not.toBe(entry(b).tags);
    }
    lists.forEach(([capabilities, tags], index) => {
      expect(entry(index).capabilities).toEqual(capabilities);
      expect(entry(index).tags).toEqual(tags);
    });
    directory.stop();
  });

  it("keeps only the metadata routing reads, with the declared models worked out once for equal metadata", async () => {
    const store = new MemoryStore();
    const feed = new ChangeFeed(await store.currentRevision(), 100);
    const directory = new ServiceDirectory(store, feed);
    await directory.start();
    const metadata: Array<Record<string, unknown>> = [
      { models: ["m1", { id: "m2" }, { name: "m3" }, 7, ""], weight: 2, zone: "rack-7" },
      { models: ["m1", { id: "m2" }, { name: "m3" }, 7, ""], weight: 2, zone: "rack-9" },
      { models: ["m1"], weight: 2 },
      { zone: "rack-7" },
      {},
    ];
    metadata.forEach((given, index) => {
      // A fresh object each time, as the JSON parser makes them.
      const service = { ...draft(`svc-${index}`), metadata: structuredClone(given), revision: index + 1 } as ServiceRecord;
      feed.publish({ event: { event: "registered", revision: index + 1, service }, previous: null });
    });
    const entry = (index: number) => directory.get(`svc-${index}`)!;
    expect([...entry(0).models]).toEqual(["m1", "m2", "m3"]);
    expect(entry(0).metadata).toEqual({ models: ["m1", { id: "m2" }, { name: "m3" }, 7, ""], weight: 2 });
    // Metadata that differs only where routing does not read it is one object, with one set of models.
    expect(entry(1).metadata).toBe(entry(0).metadata);
    expect(entry(1).models).toBe(entry(0).models);
    expect([...entry(2).models]).toEqual(["m1"]);
    expect(entry(2).models).not.toBe(entry(0).models);
    for (const index of [3, 4]) {
      expect(entry(index).metadata).toEqual({});
      expect(entry(index).models.size).toBe(0);
    }
    // A change of the declared models reaches the record's entry and no other.
    const changed = { ...draft("svc-1"), metadata: { models: ["m4"], weight: 2 }, revision: 6 } as ServiceRecord;
    feed.publish({ event: { event: "updated", revision: 6, service: changed }, previous: null });
    expect([...entry(1).models]).toEqual(["m4"]);
    expect([...entry(0).models]).toEqual(["m1", "m2", "m3"]);
    directory.stop();
  });
});
