/**
 * The EventBus contract (event-bus-contract.ts) on every backend: the in-process bus, Redis pub/sub on a real
 * redis-server and NATS on a real nats-server (each started once for this file; skipped with a message locally
 * when the program is missing, a failure under CI=true). Plus what only a real server shows: a bus that lost its
 * server gets events again once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusEvent } from "@kai/protocol";
import { createInProcessBus } from "../../src/bus/in-process-bus.js";
import { openNatsBus } from "../../src/bus/nats-bus.js";
import { openRedisBus } from "../../src/bus/redis-bus.js";
import type { EventBus } from "../../src/bus/event-bus.js";
import { openEventBus } from "../../src/bus/open-event-bus.js";
import { ConfigSchema } from "../../src/config/config-schema.js";
import type { Logger } from "../../src/logging/logger.js";
import pino from "pino";
import { startNats, type NatsServer } from "../helpers/nats-server.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { event, eventBusContract } from "./event-bus-contract.js";

let redis: RedisServer | null = null;
let nats: NatsServer | null = null;
const redisReady = startRedis().then((server) => (redis = server));
const natsReady = startNats().then((server) => (nats = server));

beforeAll(async () => {
  await Promise.all([redisReady, natsReady]);
}, 30_000);
afterAll(async () => {
  await redis?.stop();
  await nats?.stop();
});

const openRedis = () => openRedisBus({ url: redis!.url(), keyPrefix: "kai-test:" });
const openNats = () => openNatsBus({ url: nats!.url, subject: "kai-test.bus" });

eventBusContract({ name: "in-process", shared: false, open: async () => createInProcessBus() });
// Whether the programs exist is known before the suites are declared (the helpers look for them synchronously).
const { findRedisServer } = await import("../helpers/redis-server.js");
const { findNatsServer } = await import("../helpers/nats-server.js");
if (findRedisServer()) eventBusContract({ name: "Redis", shared: true, open: openRedis });
if (findNatsServer()) eventBusContract({ name: "NATS", shared: true, open: openNats });

/** Publishes until `bus`'s subscriber sees one (a reconnecting client may lose the first ones: at most once). */
async function eventsFlowAgain(publisher: EventBus, seen: BusEvent[]): Promise<void> {
  const before = seen.length;
  const deadline = Date.now() + 15_000;
  while (seen.length === before) {
    if (Date.now() > deadline) throw new Error("no event arrived after the server came back");
    await publisher.publish(event());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const OUTAGES = [
  { name: "Redis", present: findRedisServer() !== null, open: openRedis, server: () => redis! },
  { name: "NATS", present: findNatsServer() !== null, open: openNats, server: () => nats! },
];
for (const backend of OUTAGES) {
  describe.runIf(backend.present)(`${backend.name} bus: outage`, () => {
    it(`publishing while ${backend.name} is down does not throw, and events flow again once it is back`, async () => {
      const a = await backend.open();
      const b = await backend.open();
      try {
        const seen: BusEvent[] = [];
        b.subscribe((e) => seen.push(e));
        await backend.server().kill();
        await expect(a.publish(event())).resolves.toBeUndefined();
        await backend.server().start();
        await eventsFlowAgain(a, seen);
        expect(seen.length).toBeGreaterThan(0);
      } finally {
        await a.close();
        await b.close();
      }
    }, 30_000);
  });
}

describe("opening the configured bus", () => {
  const logger = pino({ level: "silent" }) as unknown as Logger;
  it("is the in-process bus by default", async () => {
    const bus = await openEventBus(ConfigSchema.parse({}), logger);
    expect(bus.kind).toBe("memory");
    await bus.close();
  });

  it("fails the start when NATS does not answer, naming the setting and never the URL (it may hold a password)", async () => {
    const config = ConfigSchema.parse({ bus: { kind: "nats", nats: { url: "nats://someone:s3cret@127.0.0.1:1" } } });
    const failure = await openEventBus(config, logger).then(() => null, (error: Error) => error);
    expect(failure?.message).toContain("bus.nats.url");
    expect(failure?.message).not.toContain("s3cret");
  });

  it("refuses a config naming redis or nats without their URL", () => {
    expect(ConfigSchema.safeParse({ bus: { kind: "redis" } }).success).toBe(false);
    expect(ConfigSchema.safeParse({ bus: { kind: "nats" } }).success).toBe(false);
  });
});
