// The change feed's replay window: exactly the changes after a revision, or null when they are not all kept.
import { describe, expect, it } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { ChangeFeed } from "./change-feed.js";

const record = (id: string, revision: number) => ({ id, revision }) as ServiceRecord;
const change = (revision: number) => ({ event: { event: "updated" as const, revision, service: record("s", revision) }, previous: null });

describe("ChangeFeed", () => {
  it("replays exactly the changes after a revision and notifies listeners in order", () => {
    const feed = new ChangeFeed(10, 100);
    const heard: number[] = [];
    feed.subscribe((c) => heard.push(c.event.revision));
    for (let r = 11; r <= 15; r++) feed.publish(change(r));
    expect(heard).toEqual([11, 12, 13, 14, 15]);
    expect(feed.revision).toBe(15);
    expect(feed.changesSince(12)!.map((c) => c.event.revision)).toEqual([13, 14, 15]);
    expect(feed.changesSince(15)).toEqual([]);
    expect(feed.changesSince(10)!.length).toBe(5);
  });

  it("refuses to replay from before the process started or from the future", () => {
    const feed = new ChangeFeed(10, 100);
    feed.publish(change(11));
    expect(feed.changesSince(9)).toBeNull();
    expect(feed.changesSince(12)).toBeNull();
  });

  it("slides its window and refuses revisions that fell out of it", () => {
    const feed = new ChangeFeed(0, 3);
    for (let r = 1; r <= 10; r++) feed.publish(change(r));
    expect(feed.changesSince(6)).toBeNull();
    expect(feed.changesSince(7)!.map((c) => c.event.revision)).toEqual([8, 9, 10]);
  });
});
