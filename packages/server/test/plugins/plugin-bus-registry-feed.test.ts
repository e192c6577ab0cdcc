// REGISTRY_CHANGE for plugins is built only while a plugin listens (issue 18, docs/plugins.md "ServiceBus"): the
// ServiceBus listens to the registry's change feed (a real ChangeFeed here) only from the first plugin that subscribed
// to REGISTRY_CHANGE with registry_read until the last one's session closes, so a bulk load with no plugin listening
// builds no event; a listening plugin gets only records a signed-in caller may see. (The delivery from a real node to a
// real plugin process is in plugin-bus-agents.test.ts.)
import { describe, expect, it } from "vitest";
import type { BusEvent, PluginPermission } from "@kai/protocol";
import { ChangeFeed, type Change, type ChangeListener } from "../../src/registry/change-feed.js";
import { createInProcessBus } from "../../src/bus/in-process-bus.js";
import { PluginBus } from "../../src/plugins/runtime/plugin-bus.js";

/** The feed, with a count of the listeners the ServiceBus keeps on it and of the changes they were handed. */
function countedFeed(): { feed: ChangeFeed; port: Pick<ChangeFeed, "subscribe">; listeners: () => number; handed: () => number } {
  const feed = new ChangeFeed(0, 100);
  let listeners = 0;
  let handed = 0;
  return {
    feed,
    port: {
      subscribe(listener: ChangeListener) {
        listeners += 1;
        const off = feed.subscribe((change) => {
          handed += 1;
          listener(change);
        });
        return () => {
          listeners -= 1;
          off();
        };
      },
    },
    listeners: () => listeners,
    handed: () => handed,
  };
}

let revision = 0;
function change(id: string, visibility: "public" | "internal" | "private"): Change {
  revision += 1;
  // The fields a REGISTRY_CHANGE names (and the visibility rule reads); the rest of a record plays no part here.
  const service = { id, name: id, type: "service", status: "online", owner: "alice", visibility };
  return { event: { event: "registered", revision, service }, previous: null } as unknown as Change;
}

const unused = () => {
  throw new Error("not used by these calls");
};

function busWith(port: Pick<ChangeFeed, "subscribe">): PluginBus {
  const events = createInProcessBus();
  return new PluginBus({
    registry: { list: unused }, vault: { getSecret: unused }, gateway: { route: unused },
    bus: () => events, audit: { recordLater: () => undefined }, feed: port,
  });
}

const plugin = (permissions: PluginPermission[]) => ({ id: "p", permissions, trust: "unverified" as const });

describe("REGISTRY_CHANGE on the ServiceBus", () => {
  it("listens to the feed only while a plugin with registry_read subscribed, and hands it only visible records", async () => {
    const counted = countedFeed();
    const bus = busWith(counted.port);
    // A bulk load with nobody listening: the ServiceBus is not even on the feed.
    for (let i = 0; i < 1000; i++) counted.feed.publish(change(`bulk-${i}`, "public"));
    expect(counted.listeners()).toBe(0);
    expect(counted.handed()).toBe(0);

    const delivered: BusEvent[] = [];
    const session = bus.open(plugin(["registry_read", "events_subscribe"]), (event) => delivered.push(event));
    expect(await session.handle("events.subscribe", { types: ["REGISTRY_CHANGE"] })).toEqual({ subscribed: ["REGISTRY_CHANGE"] });
    expect(counted.listeners()).toBe(1);
    counted.feed.publish(change("hidden", "private"));
    counted.feed.publish(change("shown", "internal"));
    expect(delivered.map((event) => [event.type, event.payload.serviceId])).toEqual([["REGISTRY_CHANGE", "shown"]]);

    // A second plugin shares the one listener; the feed is left when the last session closes.
    const other = bus.open(plugin(["registry_read", "events_subscribe"]), () => undefined);
    await other.handle("events.subscribe", { types: ["REGISTRY_CHANGE"] });
    expect(counted.listeners()).toBe(1);
    session.close();
    expect(counted.listeners()).toBe(1);
    other.close();
    expect(counted.listeners()).toBe(0);
    const before = counted.handed();
    counted.feed.publish(change("after", "public"));
    expect(counted.handed()).toBe(before);
  });

  it("gives a plugin without registry_read no registry change, and does not listen for it", async () => {
    const counted = countedFeed();
    const bus = busWith(counted.port);
    const session = bus.open(plugin(["events_subscribe"]), () => undefined);
    expect(await session.handle("events.subscribe", { types: ["REGISTRY_CHANGE", "CONFIG_UPDATE"] })).toEqual({ subscribed: ["CONFIG_UPDATE"] });
    expect(counted.listeners()).toBe(0);
    session.close();
  });
});
