/**
 * @module bus/publishers/admin-notifications
 * USER_NOTIFICATION to admins (owner `@admins`: admins receive it, no one else) for what needs an operator: the
 * vault was locked on an instance (secrets and new tokens are unavailable until it is unlocked), and a federation
 * peer's link went down. The vault is watched on each instance (each has its own); peer links run on the leader,
 * which looks at their states on its status interval and tells a link that was connected and is not any more
 * (and again when it is back). Payloads name the instance or peer, never an error's secret detail: the link's last
 * error is the one `GET /api/peers` already shows admins.
 */
import { ADMINS_AUDIENCE, publishQuietly, systemEvent, type PublishPort } from "./system-event.js";

export interface PeerLinkView {
  did: string;
  name?: string | undefined;
  state: string;
  lastError: string | null;
}

export interface AdminNotificationsDeps {
  bus: PublishPort;
  instanceName: string;
  vault?: { onChange(listener: (available: boolean) => void): () => void };
  peers?: () => ReadonlyArray<PeerLinkView>;
  isLeader: () => boolean;
  intervalMs: number;
  onError: (error: unknown) => void;
}

export class AdminNotifications {
  private readonly stops: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  /** Peer link states at the leader's last look; null until its first. */
  private links: Map<string, string> | null = null;

  constructor(private readonly deps: AdminNotificationsDeps) {}

  start(): void {
    const { vault } = this.deps;
    if (vault) {
      this.stops.push(
        vault.onChange((available) => {
          if (!available) this.notify("vault_locked", "Vault locked", `The vault was locked on ${this.deps.instanceName}: secrets and new tokens are unavailable until it is unlocked.`, "/vault", {});
        }),
      );
    }
    if (this.deps.peers) {
      this.timer = setInterval(() => this.checkLinks(), this.deps.intervalMs);
      this.timer.unref();
    }
  }

  /** One look at the peer links (leader only). Public so tests need not wait for the interval. */
  checkLinks(): void {
    if (!this.deps.peers) return;
    if (!this.deps.isLeader()) {
      this.links = null;
      return;
    }
    const now = new Map<string, string>();
    for (const peer of this.deps.peers()) {
      now.set(peer.did, peer.state);
      const was = this.links?.get(peer.did);
      const label = peer.name ?? peer.did;
      if (was === "connected" && peer.state === "disconnected") {
        this.notify("peer_link_down", "Peer link down", `The link to peer ${label} is down.`, "/peers", { peer: { did: peer.did, ...(peer.name ? { name: peer.name } : {}) }, lastError: peer.lastError });
      } else if (was === "disconnected" && peer.state === "connected") {
        this.notify("peer_link_up", "Peer link back", `The link to peer ${label} is back.`, "/peers", { peer: { did: peer.did, ...(peer.name ? { name: peer.name } : {}) } });
      }
    }
    this.links = now;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const stop of this.stops.splice(0)) stop();
  }

  private notify(kind: string, title: string, message: string, link: string, details: Record<string, unknown>): void {
    publishQuietly(this.deps.bus, systemEvent("USER_NOTIFICATION", { kind, title, message, link, instance: this.deps.instanceName, ...details }, { owner: ADMINS_AUDIENCE }), this.deps.onError);
  }
}
