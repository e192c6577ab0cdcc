/**
 * Names on the LAN are unique (DNS-SD): a node whose configured mDNS name another node announces already takes the
 * first free `<name>-2` and says so at warn, and both are heard, each with its DID. Before, the library's probe
 * stopped the newcomer's announcement without a line in the log, and no other node ever heard it. Real multicast on
 * this machine's network, as `kai peer discover`'s test (packages/cli/test/peer-discover.test.ts) runs it.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { LanDiscovery, NAME_CHECK_MS } from "../../src/federation/lan-discovery.js";
import type { Logger } from "../../src/logging/logger.js";

const started: LanDiscovery[] = [];
afterAll(async () => {
  await Promise.all(started.map((node) => node.close()));
});

/** A DID as nodes announce them (a random 32-byte key). */
const someDid = () => `kind:did:${randomBytes(32).toString("base64url")}#ed25519`;

/** A logger that keeps what was written at warn and info. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  const logger = { warn: at("warn"), info: at("info"), debug: () => undefined, error: at("error") } as unknown as Logger;
  return { logger, lines };
}

async function start(name: string, did: string, logger: Logger, advertise = true): Promise<LanDiscovery> {
  const node = await LanDiscovery.start({ did, name, port: 7000 + started.length, secure: false, advertise, logger });
  started.push(node);
  return node;
}

/** Polls until `until` holds (mDNS answers arrive within a second or two). */
async function eventually<T>(read: () => T, until: (value: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = read();
  while (!until(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = read();
  }
  return value;
}

describe("mDNS names on one LAN", () => {
  it("a node whose name another node announces already announces itself as <name>-2, says so, and both are heard", async () => {
    const name = `kai-test-${randomBytes(4).toString("hex")}`;
    const [first, second, listener] = [someDid(), someDid(), someDid()];
    const one = recordingLogger();
    const firstNode = await start(name, first, one.logger);
    await eventually(() => firstNode.announcedName, (announced) => announced !== undefined, NAME_CHECK_MS * 3);
    expect(firstNode.announcedName).toBe(name);
    expect(one.lines.find((line) => line.level === "info")?.message).toBe(`mDNS: this node is announced on the LAN as ${name} (_kai._tcp)`);

    const two = recordingLogger();
    const secondNode = await start(name, second, two.logger);
    await eventually(() => secondNode.announcedName, (announced) => announced !== undefined, NAME_CHECK_MS * 3);
    expect(secondNode.announcedName).toBe(`${name}-2`);
    expect(two.lines.find((line) => line.level === "warn")).toMatchObject({
      fields: { name, heldBy: first, announcedAs: `${name}-2` },
      message: `mDNS: another node announces the name ${name} already; this node announces itself as ${name}-2 (federation.mdns.name chooses another)`,
    });

    const hearer = await start("listener", listener, recordingLogger().logger, false);
    const heard = await eventually(() => hearer.list(), (list) => [first, second].every((did) => list.some((peer) => peer.did === did)));
    expect(heard.map((peer) => [peer.name, peer.did]).sort()).toEqual(expect.arrayContaining([[name, first], [`${name}-2`, second]]));
  }, 40_000);
});
