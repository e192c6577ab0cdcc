/**
 * @module cluster/single-node
 * The cluster of one: SQLite or memory storage belongs to one process, so that process is every member, always
 * the leader (epoch 1), and its signals never leave it. Signals still go through the same contract as on
 * PostgreSQL (delivered later, not inside `publish`, in publication order, `fromSelf` true), so code written
 * against `Cluster` behaves the same on one instance as on many.
 */
import { randomUUID } from "node:crypto";
import { parseJson } from "@kai/protocol";
import {
  encodeSignalPayload,
  Listeners,
  SignalSubscribers,
  stateEntry,
  type Cluster,
  type ClusterLogger,
  type ClusterMember,
  type ClusterSignals,
  type LeaderInfo,
  type Leadership,
  type SignalHandler,
  type SignalTopic,
} from "./cluster-types.js";

export interface SingleNodeClusterOptions {
  instanceName: string;
  version: string;
  url?: string | null;
  logger: ClusterLogger;
}

interface Pending {
  topic: SignalTopic;
  payload: Record<string, unknown>;
}

export class SingleNodeCluster implements Cluster {
  readonly mode = "single" as const;
  readonly instanceId = randomUUID();
  readonly instanceName: string;
  readonly leadership: Leadership;
  readonly signals: ClusterSignals;

  private leading = false;
  private everLed = false;
  private startedAt = new Date().toISOString();
  private readonly info: Record<string, unknown> = {};
  private readonly leaderListeners: Listeners<boolean>;
  private readonly subscribers: SignalSubscribers;
  private readonly states = new Map<SignalTopic, Map<string, Record<string, unknown>>>();
  private readonly queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly options: SingleNodeClusterOptions) {
    this.instanceName = options.instanceName;
    this.leaderListeners = new Listeners<boolean>(options.logger, "leadership");
    this.subscribers = new SignalSubscribers(options.logger);
    const isLeader = () => this.leading;
    const epoch = () => (this.everLed ? 1 : 0);
    this.leadership = {
      get isLeader() {
        return isLeader();
      },
      // The one leadership there ever is: 1 from start on, kept after close as the contract says.
      get epoch() {
        return epoch();
      },
      onChange: (listener) => this.leaderListeners.add(listener),
    };
    this.signals = {
      publish: async (topic, payload) => this.publish(topic, payload),
      subscribe: (topic: SignalTopic, handler: SignalHandler) => this.subscribers.subscribe(topic, handler),
      state: async (topic) => new Map(this.states.get(topic) ?? []),
      // One process never misses its own signals.
      onMissed: () => () => undefined,
    };
  }

  async start(): Promise<void> {
    if (this.leading) return;
    this.startedAt = new Date().toISOString();
    this.leading = true;
    this.everLed = true;
    this.leaderListeners.emit(true);
  }

  async close(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.leaderListeners.emit(false);
  }

  async members(): Promise<ClusterMember[]> {
    return [
      {
        instanceId: this.instanceId,
        name: this.instanceName,
        url: this.options.url ?? null,
        version: this.options.version,
        startedAt: this.startedAt,
        lastSeenAt: new Date().toISOString(),
        leader: this.leading,
        info: { ...this.info },
      },
    ];
  }

  async leader(): Promise<LeaderInfo | null> {
    return this.leading ? { instanceId: this.instanceId, epoch: 1, since: this.startedAt } : null;
  }

  report(info: Record<string, unknown>): void {
    Object.assign(this.info, info);
  }

  private publish(topic: SignalTopic, payload: Record<string, unknown>): void {
    // A copy, as the database would hand every instance its own: a handler cannot change what the publisher holds.
    const parsed = parseJson(encodeSignalPayload(topic, payload));
    const copy = (parsed.ok ? parsed.value : {}) as Record<string, unknown>;
    const entry = stateEntry(topic, copy);
    if (entry) {
      let map = this.states.get(topic);
      if (!map) this.states.set(topic, (map = new Map()));
      if (entry.clear) map.delete(entry.key);
      else map.set(entry.key, copy);
    }
    this.queue.push({ topic, payload: copy });
    if (!this.flushing) {
      this.flushing = true;
      // Later, never inside publish: a handler that publishes again cannot reorder or recurse.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      this.subscribers.deliver(next.topic, next.payload, { origin: this.instanceId, fromSelf: true });
    }
    this.flushing = false;
  }
}
