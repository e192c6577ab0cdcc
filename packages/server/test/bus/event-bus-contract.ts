/**
 * The contract every EventBus backend passes (bus/event-bus.ts), run on the in-process bus, Redis and NATS
 * against real servers: what kCore and the event hub rely on. `open` makes a new instance of the bus; for a
 * shared backend (Redis, NATS) two instances opened on the same server are two "instances" of the node.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { BusEvent } from "@kai/protocol";
import type { EventBus } from "../../src/bus/event-bus.js";

export interface BusUnderTest {
  name: string;
  /** A new instance (connected and subscribed once resolved). */
  open(): Promise<EventBus>;
  /** Whether two instances share events (Redis, NATS); the in-process bus is one instance. */
  shared: boolean;
}

export function event(overrides: Partial<BusEvent> = {}): BusEvent {
  return { id: randomUUID(), type: "TASK_PROGRESS", payload: {}, timestamp: new Date().toISOString(), ...overrides };
}

/** Resolves once `check` holds; fails after `ms` with what was seen (no fixed sleeps). */
export async function until(check: () => boolean, ms = 5_000, what = "the condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function eventBusContract(bus: BusUnderTest): void {
  describe(`EventBus contract: ${bus.name}`, () => {
    const opened: EventBus[] = [];
    const open = async () => {
      const instance = await bus.open();
      opened.push(instance);
      return instance;
    };
    afterEach(async () => {
      for (const instance of opened.splice(0)) await instance.close();
    });

    it("delivers an instance's own events to its subscribers, in order and unchanged", async () => {
      const a = await open();
      const seen: BusEvent[] = [];
      a.subscribe((e) => seen.push(e));
      const sent = Array.from({ length: 50 }, (_, i) =>
        event({ taskId: "t1", planId: "p1", seq: i + 1, agent: "kExecutor:web", correlationId: "c", owner: "alice", payload: { i, nested: { ok: true } } }),
      );
      for (const e of sent) await a.publish(e);
      await until(() => seen.length >= 50, 5_000, "50 events");
      expect(seen).toEqual(sent);
    });

    it("delivers to every subscriber; a throwing listener does not stop the others", async () => {
      const a = await open();
      const first: string[] = [];
      const second: string[] = [];
      a.subscribe(() => {
        throw new Error("listener bug");
      });
      a.subscribe((e) => first.push(e.id));
      a.subscribe((e) => second.push(e.id));
      const e = event();
      await a.publish(e);
      await until(() => first.length === 1 && second.length === 1, 5_000, "both subscribers");
      expect(first).toEqual([e.id]);
      expect(second).toEqual([e.id]);
    });

    it("stops delivering to a subscriber that unsubscribed", async () => {
      const a = await open();
      const kept: string[] = [];
      const gone: string[] = [];
      a.subscribe((e) => kept.push(e.id));
      const off = a.subscribe((e) => gone.push(e.id));
      await a.publish(event());
      await until(() => kept.length === 1 && gone.length === 1, 5_000, "the first event");
      off();
      await a.publish(event());
      await until(() => kept.length === 2, 5_000, "the second event");
      expect(gone).toHaveLength(1);
    });

    it("after close, publishing is a no-op and nothing is delivered", async () => {
      const a = await open();
      const seen: string[] = [];
      a.subscribe((e) => seen.push(e.id));
      await a.close();
      await expect(a.publish(event())).resolves.toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual([]);
    });

    // Declared only for shared backends (Redis, NATS): the in-process bus has no second instance to see.
    if (bus.shared) it("two instances see each other's events, each in its publisher's order", async () => {
      const a = await open();
      const b = await open();
      const atA: BusEvent[] = [];
      const atB: BusEvent[] = [];
      a.subscribe((e) => atA.push(e));
      b.subscribe((e) => atB.push(e));
      const fromA = Array.from({ length: 20 }, (_, i) => event({ agent: "a", seq: i + 1, taskId: "ta" }));
      const fromB = Array.from({ length: 20 }, (_, i) => event({ agent: "b", seq: i + 1, taskId: "tb" }));
      await Promise.all([(async () => { for (const e of fromA) await a.publish(e); })(), (async () => { for (const e of fromB) await b.publish(e); })()]);
      await until(() => atA.length >= 40 && atB.length >= 40, 5_000, "40 events on each instance");
      for (const seen of [atA, atB]) {
        expect(seen.filter((e) => e.agent === "a")).toEqual(fromA);
        expect(seen.filter((e) => e.agent === "b")).toEqual(fromB);
      }
    });
  });
}
