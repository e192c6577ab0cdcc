// One read for identical snapshot questions: same viewer, same filter, same feed revision. Anything else reads anew,
// and so does everyone after a change, after a failed read, or after a large finished read.
import type { ServiceRecord } from "@kai/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SharedSnapshotReads } from "./shared-snapshot-reads.js";

const alice = { owner: "alice", admin: false };
const admin = { owner: "alice", admin: true };
const record = (id: string) => ({ id, revision: 1 }) as unknown as ServiceRecord;

/** A read that answers when told to, counting how often it was started. */
function controlledRead(records: ServiceRecord[]) {
  const started = { count: 0 };
  let answer!: (value: ServiceRecord[]) => void;
  let fail!: (error: Error) => void;
  const read = () => {
    started.count++;
    return new Promise<ServiceRecord[]>((resolve, reject) => {
      answer = resolve;
      fail = reject;
    });
  };
  return { read, started, answer: () => answer(records), fail: (error: Error) => fail(error) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("SharedSnapshotReads", () => {
  it("reads once for the same viewer, filter and revision, running or just finished, in id order", async () => {
    const reads = new SharedSnapshotReads();
    const source = controlledRead([record("b"), record("a")]);
    const first = reads.records(alice, { tag: ["x"] }, 7, source.read);
    const second = reads.records(alice, { tag: ["x"] }, 7, source.read);
    source.answer();
    const [one, two] = await Promise.all([first, second]);
    expect(one).toBe(two);
    expect(one.services.map((service) => service.id)).toEqual(["a", "b"]);
    expect(await reads.records(alice, { tag: ["x"] }, 7, source.read)).toBe(one);
    expect(source.started.count).toBe(1);
    expect(JSON.parse(one.encoded().toString())).toEqual([record("a"), record("b")]);
    expect(one.encoded()).toBe(one.encoded());
  });

  it("reads anew for another revision, viewer or filter, and after a change", async () => {
    const reads = new SharedSnapshotReads();
    const source = controlledRead([record("a")]);
    const asked = [
      reads.records(alice, { tag: ["x"] }, 7, source.read),
      reads.records(alice, { tag: ["x"] }, 8, source.read),
      reads.records(admin, { tag: ["x"] }, 8, source.read),
      reads.records({ owner: "bob", admin: false }, { tag: ["x"] }, 8, source.read),
      reads.records(alice, { tag: ["y"] }, 8, source.read),
    ];
    expect(source.started.count).toBe(5);
    reads.changed();
    asked.push(reads.records(alice, { tag: ["y"] }, 8, source.read));
    expect(source.started.count).toBe(6);
    source.answer();
    await asked.at(-1);
  });

  it("does not share a failed read with those who ask later", async () => {
    const reads = new SharedSnapshotReads();
    const failing = controlledRead([]);
    const first = reads.records(alice, {}, 3, failing.read);
    const joined = reads.records(alice, {}, 3, failing.read);
    failing.fail(new Error("storage unavailable"));
    await expect(first).rejects.toThrow("storage unavailable");
    await expect(joined).rejects.toThrow("storage unavailable");
    const retry = controlledRead([record("a")]);
    const again = reads.records(alice, {}, 3, retry.read);
    retry.answer();
    expect((await again).services).toHaveLength(1);
    expect(retry.started.count).toBe(1);
  });

  it("forgets a finished read after a moment, and a large one at once", async () => {
    vi.useFakeTimers();
    const reads = new SharedSnapshotReads();
    const small = controlledRead([record("a")]);
    const done = reads.records(alice, {}, 1, small.read);
    small.answer();
    await done;
    expect(await reads.records(alice, {}, 1, small.read)).toBe(await done);
    await vi.advanceTimersByTimeAsync(1_500);
    const after = reads.records(alice, {}, 1, small.read);
    expect(small.started.count).toBe(2);
    small.answer();
    await after;

    const many = Array.from({ length: 10_001 }, (_, k) => record(`s${String(k).padStart(5, "0")}`));
    const large = controlledRead(many);
    const running = reads.records(admin, {}, 1, large.read);
    const joinedWhileRunning = reads.records(admin, {}, 1, large.read);
    large.answer();
    expect(await joinedWhileRunning).toBe(await running);
    const later = reads.records(admin, {}, 1, large.read);
    expect(large.started.count).toBe(2);
    large.answer();
    await later;
  });

  it("keeps finished reads of at most 10,000 records in all; a change lets go of them", async () => {
    const reads = new SharedSnapshotReads();
    const half = Array.from({ length: 6_000 }, (_, k) => record(`h${String(k).padStart(5, "0")}`));
    const first = controlledRead(half);
    const second = controlledRead(half);
    const ask = (filter: { tag: string[] }, source: ReturnType<typeof controlledRead>) => reads.records(alice, filter, 1, source.read);
    const one = ask({ tag: ["one"] }, first);
    first.answer();
    await one;
    const two = ask({ tag: ["two"] }, second);
    second.answer();
    await two;
    // The first is kept (6,000), the second would make 12,000: dropped at once.
    expect(await ask({ tag: ["one"] }, first)).toBe(await one);
    const twoAgain = ask({ tag: ["two"] }, second);
    expect(second.started.count).toBe(2);
    second.answer();
    await twoAgain;
    // After a change nothing is kept, and the count starts again: a new read of 6,000 is kept.
    reads.changed();
    const three = ask({ tag: ["two"] }, second);
    second.answer();
    await three;
    expect(await ask({ tag: ["two"] }, second)).toBe(await three);
    expect(second.started.count).toBe(3);
  });
});
