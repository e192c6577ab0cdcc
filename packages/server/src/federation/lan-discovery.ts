/**
 * @module federation/lan-discovery
 * Nodes on the same LAN find each other by mDNS/DNS-SD (seed 002's "mDNS + KLP"; issue 19): each node may
 * advertise `_kai._tcp` with its DID in the TXT record, and lists the other nodes it hears (`kai peer discover`,
 * `GET /api/peers/discovered`). Off by default (`federation.mdns`): a multicast announcement tells everyone on the
 * segment that a node runs here.
 *
 * Discovery is a hint, never trust. A TXT record is unauthenticated, so anyone on the LAN can announce any DID;
 * what protects a node is that adding a discovered node goes through `POST /api/peers` like any other peer: the
 * node's signed document is read from the address and its DID pinned (and refused when it is not the DID shown).
 * A spoofed announcement can therefore at worst offer the operator a node that is what it says it is.
 *
 * The protocol itself is bonjour-service's (a maintained pure-JavaScript DNS-SD over multicast-dns); it is loaded
 * only when discovery is on.
 *
 * Names are unique on a segment (DNS-SD): a node listens for a moment before it announces itself, and when another
 * node already announces its name, it takes the first free `<name>-2`, `<name>-3`, … and says so in the log, as
 * DNS-SD's newcomer renames. bonjour-service's own probe, left on, stopped the clashing service without a word to the
 * log (it wrote an Error to stdout, outside the log lines): the node was simply never heard. Two nodes starting with
 * one name within the same second can still both take it; the default name (`kai-<key id>`) never clashes.
 */
import { isLoopbackHost } from "../config/listen-host.js";
import type { Bonjour, Browser, Service } from "bonjour-service";
import { klp } from "@kai/protocol";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";

/** The DNS-SD service type: `_kai._tcp`. */
export const MDNS_SERVICE_TYPE = "kai";
/** The TXT record's version: a reader skips announcements of a version it does not know. */
const TXT_VERSION = "1";
/** How long a node not heard again stays listed, ms (DNS-SD's own goodbye removes it sooner). */
const FORGET_AFTER_MS = 10 * 60_000;
/** Most nodes kept (a noisy segment cannot grow the list without bound). */
const MAX_DISCOVERED = 256;
/** How long a node listens before it announces itself, ms: the names in use on the segment are heard by then. */
export const NAME_CHECK_MS = 1500;

export interface LanDiscoveryOptions {
  /** This node's DID (announced; its own announcement is not listed). */
  did: string;
  /** The instance name to announce (another node announcing it already: the first free `<name>-2`, `-3`, …). */
  name: string;
  port: number;
  /** Whether the node serves HTTPS. */
  secure: boolean;
  /** Announce this node (false: only listen). */
  advertise: boolean;
  logger: Logger;
  now?: () => number;
}

export class LanDiscovery {
  private readonly seen = new Map<string, klp.DiscoveredPeer & { seenAt: number }>();
  private readonly now: () => number;

  private readonly browser: Browser;
  /** The name this node announces itself with, once it does (see the module comment). */
  private announcedAs: string | undefined;
  private announcing: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly options: LanDiscoveryOptions,
    private readonly bonjour: Bonjour,
  ) {
    this.now = options.now ?? Date.now;
    this.browser = bonjour.find({ type: MDNS_SERVICE_TYPE, protocol: "tcp" }, (service: Service) => this.heard(service));
    this.browser.on("down", (service: Service) => this.gone(service));
  }

  /** Starts announcing (when `advertise`) and listening. A LAN that refuses multicast fails here, with the reason. */
  static async start(options: LanDiscoveryOptions): Promise<LanDiscovery> {
    const { Bonjour } = await import("bonjour-service");
    const bonjour = new Bonjour({}, (error: Error) => {
      options.logger.warn({ error: error.message }, "mDNS discovery failed on this network");
    });
    const discovery = new LanDiscovery(options, bonjour);
    if (options.advertise) discovery.announceSoon();
    return discovery;
  }

  /** Announces this node once the segment's names have been heard, under a name no other node announces. */
  private announceSoon(): void {
    this.announcing = setTimeout(() => {
      this.announcing = undefined;
      if (this.closed) return;
      const base = this.options.name;
      const taken = new Map<string, string>();
      for (const entry of this.seen.values()) taken.set(entry.name, entry.did);
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base.slice(0, 63 - String(n).length - 1)}-${n}`;
      if (name !== base) {
        this.options.logger.warn({ name: base, heldBy: taken.get(base), announcedAs: name }, `mDNS: another node announces the name ${base} already; this node announces itself as ${name} (federation.mdns.name chooses another)`);
      }
      this.announcedAs = name;
      this.bonjour.publish({
        name,
        type: MDNS_SERVICE_TYPE,
        protocol: "tcp",
        port: this.options.port,
        txt: { v: TXT_VERSION, did: this.options.did, proto: this.options.secure ? "https" : "http" },
        // Checked above; the library's own probe would stop a clashing service silently (see the module comment).
        probe: false,
      });
      this.options.logger.info({ name, port: this.options.port }, `mDNS: this node is announced on the LAN as ${name} (_kai._tcp)`);
    }, NAME_CHECK_MS);
    this.announcing.unref();
  }

  /** The name this node announces itself with; undefined while it listens first, or when it does not announce. */
  get announcedName(): string | undefined {
    return this.announcedAs;
  }

  /** The nodes heard recently, newest first; never this node. */
  list(): klp.DiscoveredPeer[] {
    const cutoff = this.now() - FORGET_AFTER_MS;
    const peers: klp.DiscoveredPeer[] = [];
    for (const [key, entry] of this.seen) {
      if (entry.seenAt < cutoff) this.seen.delete(key);
      else {
        const { seenAt: _seenAt, ...peer } = entry;
        peers.push(peer);
      }
    }
    return peers.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  }

  /** Whether this node announces itself (false: it only listens). */
  get advertising(): boolean {
    return this.options.advertise;
  }

  /** Asks the LAN again now (nodes answer within a second or so). */
  refresh(): void {
    this.browser.update();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.announcing) clearTimeout(this.announcing);
    this.browser.stop();
    // unpublishAll sends DNS-SD goodbyes, so the other nodes drop this one at once.
    await new Promise<void>((resolve) => this.bonjour.unpublishAll(() => resolve()));
    await new Promise<void>((resolve) => this.bonjour.destroy(() => resolve()));
  }

  private heard(service: Service): void {
    const peer = describe(service, this.now());
    if (!peer || peer.did === this.options.did) return;
    const key = `${service.name}|${peer.did}`;
    if (!this.seen.has(key) && this.seen.size >= MAX_DISCOVERED) return;
    this.seen.set(key, { ...peer, seenAt: this.now() });
  }

  private gone(service: Service): void {
    for (const key of this.seen.keys()) if (key.startsWith(`${service.name}|`)) this.seen.delete(key);
  }
}

/** The announcement as a listed node, or null when it is not one we can use (no DID, unknown version, no address). */
function describe(service: Service, now: number): klp.DiscoveredPeer | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const did = typeof txt.did === "string" ? txt.did : undefined;
  if (!did || !klp.DidSchema.safeParse(did).success || txt.v !== TXT_VERSION) return null;
  const scheme = txt.proto === "https" ? "https" : "http";
  // IPv4 first: a link-local IPv6 address needs a zone to be reachable, which a URL cannot carry portably.
  const addresses = [...new Set(service.addresses ?? [])].filter((a) => !a.toLowerCase().startsWith("fe80:")).sort((a, b) => Number(a.includes(":")) - Number(b.includes(":")));
  if (addresses.length === 0 || !Number.isInteger(service.port) || service.port <= 0) return null;
  const urls = addresses.slice(0, 8).map((address) => `${scheme}://${address.includes(":") ? `[${address}]` : address}:${service.port}`);
  return { name: service.name.slice(0, 200), did, url: urls[0]!, urls, host: (service.host ?? "").slice(0, 255), lastSeen: new Date(now).toISOString() };
}

/**
 * Starts discovery as the configuration says, for a node listening on `port`. A network without multicast does not
 * stop the node: discovery is then off, with the reason logged.
 */
export async function startLanDiscovery(options: { config: Config; did: string; name: string; port: number; secure: boolean; logger: Logger }): Promise<LanDiscovery | null> {
  const { config, logger } = options;
  const { mdns } = config.federation;
  const host = config.server.host;
  // A node on loopback only would announce the machine's LAN addresses, where it does not listen: whoever tried to
  // add it would wait for a connection that cannot come. It is not announced; it still hears the others.
  const loopbackOnly = isLoopbackHost(host);
  if (mdns.advertise && loopbackOnly) {
    logger.warn({ host }, "mDNS: this node is not announced, because it listens on loopback only and no other machine could reach it (set server.host, e.g. KAI_HOST=0.0.0.0); it still hears the nodes that announce themselves");
  }
  try {
    return await LanDiscovery.start({
      did: options.did,
      name: mdns.name ?? options.name,
      port: options.port,
      secure: options.secure,
      advertise: mdns.advertise && !loopbackOnly,
      logger,
    });
  } catch (error) {
    logger.warn({ error: error instanceof Error ? error.message : String(error) }, "mDNS discovery could not start; the node serves without it");
    return null;
  }
}
