// The change batcher: marks made while nothing runs go together into one run; a failed run loses nothing (its
// changes come back with the newer ones, a newer link state winning); and parsing of received signals.
import { describe, expect, it } from "vitest";
import { ChangeBatcher, type FederationChanges } from "./change-batcher.js";
import { parseFederationSignal } from "./coordination.js";

const plain = (changes: FederationChanges) => ({ ...changes, origins: [...changes.origins].sort(), links: Object.fromEntries(changes.links) });

describe("ChangeBatcher", () => {
  it("hands every change marked before a run to that one run", async () => {
    const runs: FederationChanges[] = [];
    // A delay no test waits for: `flush` runs what is pending.
    const batcher = new ChangeBatcher({ run: async (changes) => void runs.push(changes), delayMs: 60_000, retryMs: 60_000, onError: () => undefined });
    batcher.mark({ origin: "did:key:a" });
    batcher.mark({ origin: "did:key:b" });
    batcher.mark({ origin: "did:key:a" });
    batcher.mark({ peers: true });
    batcher.mark({ link: { did: "did:key:a", state: "connecting", lastError: null } });
    batcher.mark({ link: { did: "did:key:a", state: "connected", lastError: null } });
    await batcher.flush();
    expect(runs.map(plain)).toEqual([
      { all: false, peers: true, origins: ["did:key:a", "did:key:b"], links: { "did:key:a": { did: "did:key:a", state: "connected", lastError: null } } },
    ]);
    await batcher.flush();
    expect(runs).toHaveLength(1);
    batcher.close();
  });

  it("keeps the changes of a failed run for the next one, behind newer link states", async () => {
    const runs: FederationChanges[] = [];
    const errors: unknown[] = [];
    let fail = true;
    const batcher = new ChangeBatcher({
      run: async (changes) => {
        runs.push(changes);
        if (fail) throw new Error("database away");
      },
      delayMs: 60_000,
      retryMs: 60_000,
      onError: (error) => errors.push(error),
    });
    batcher.mark({ origin: "did:key:a" });
    batcher.mark({ link: { did: "did:key:a", state: "connected", lastError: null } });
    await batcher.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    batcher.mark({ all: true });
    batcher.mark({ link: { did: "did:key:a", state: "disconnected", lastError: "closed" } });
    await batcher.flush();
    expect(runs.map(plain)[1]).toEqual({
      all: true,
      peers: false,
      origins: ["did:key:a"],
      links: { "did:key:a": { did: "did:key:a", state: "disconnected", lastError: "closed" } },
    });
    batcher.close();
    batcher.mark({ peers: true });
    await batcher.flush();
    expect(runs).toHaveLength(2);
  });
});

describe("federation_changed payloads", () => {
  it("are read for what this version knows, and ignored otherwise", () => {
    expect(parseFederationSignal({ origin: "did:key:a", extra: 1 })).toEqual({ origin: "did:key:a" });
    expect(parseFederationSignal({ peers: true, all: true })).toEqual({ peers: true, all: true });
    expect(parseFederationSignal({ link: { did: "did:key:a", state: "connected", lastError: 3 } })).toEqual({ link: { did: "did:key:a", state: "connected", lastError: null } });
    expect(parseFederationSignal({ link: { did: "did:key:a", state: "exploded" } })).toBeNull();
    expect(parseFederationSignal({ origin: "", peers: "yes" })).toBeNull();
  });
});
