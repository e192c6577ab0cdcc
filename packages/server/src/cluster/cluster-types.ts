/**
 * @module cluster/cluster-types
 * What one instance of a node needs to act, with its siblings, as one node: who the instances are, which one
 * runs the singleton jobs (leadership, fenced by an epoch), and a durable signal bus for changes that are not
 * registry events (a token revoked, the vault's keyring rotated, a health verdict).
 *
 * Two implementations: `single-node.ts` (SQLite or memory storage: one process, always the leader, signals stay
 * in process) and `postgres/` (every instance on one PostgreSQL: membership rows, a session advisory lock for
 * leadership, a signal log read on NOTIFY and on a poll, so a lost notification delays a signal but never loses it).
 * Registry events do not travel here: they have their own ordered log (storage) and `change-tailer.ts`.
 *
 * Besides the types, this module holds the two rules both implementations must apply the same way (so they live
 * beside the contract): which topics are state and how they are keyed (`stateEntry`), and how a signal reaches
 * its handlers (`SignalSubscribers`: in order, one failing handler never stops the others). See docs/architecture/cluster.md.
 */

/** A signal's topic: who listens decides what the payload means. */
export type SignalTopic =
  /** `{ tokenId }`: a token was revoked; every instance refuses it at once. */
  | "token_revoked"
  /** `{ reason }`: the vault header changed (rotation, passphrase change, initialisation); instances reload it. */
  | "vault_changed"
  /** `{ name }`: a secret's value was put, replaced or deleted; instances forget the gateway's cached copy (never the value). */
  | "vault_secret_changed"
  /** `{ serviceId, verdict: "passing" | "failing" | null }`: the health checker's verdict changed. A state topic. */
  | "health_verdict"
  /** `{ serviceId, ok }`: one active probe's outcome (circuit breakers on every instance). */
  | "health_probe"
  /** `{ origin } | { peers: true } | { all: true } | { link: { did, state, lastError } }`: federation peers, imported records or a link's state changed; instances reload that part (federation/instance-sync.ts). */
  | "federation_changed"
  /** `{ userId } | { roles: true }`: a user was created, changed or deleted, or the custom roles changed; instances reload it (issue 14). */
  | "user_changed"
  /** `{ sessionId } | { userId }`: a session (or every session of a user) was revoked; instances refuse its access tokens at once. */
  | "session_revoked"
  /** `{ taskId, action: "cancel" | "answer" }`: a task's cancel or answer for the instance running it (an answer's value is in the task store). */
  | "task_control"
  /** `{ request, op: "start" | "stop", id }` to the leader, which runs the run-agents; `{ reply, state } | { reply, error }` back (agents/runtime/run-agent-relay.ts). */
  | "run_agent"
  /** `{ added: ids } | { removed: ids }`: memories one instance added or removed; the others index them (memory/memory-signals.ts). */
  | "memory_changed"
  /** `{ id }`: a plugin was enabled or disabled; instances read the enabled set again and start or stop it (plugins/runtime/plugin-runtime.ts). */
  | "plugins_changed"
  /** `{ id, revision }`: a plugin was installed, updated, rolled back or removed; instances follow the shared install store (plugins/cluster/plugin-install-follower.ts). */
  | "plugin_installed"
  /** `{}`: the stored runtime configuration layer changed; instances read and apply it (config/layers/runtime-layer-sync.ts). */
  | "config_changed"
  /** `{ ask, filter, recent?, followMs?, only?, since? }`: an instance wants the others' log lines (logging/cluster-log-relay.ts). */
  | "log_lines_wanted"
  /** `{ ask, instance, lines, done?, skipped? }`: an instance's answer, already-redacted lines (logging/cluster-log-relay.ts). */
  | "log_lines"
  /** `{ ask }`: an instance wants the others' `kai doctor` checks (doctor/cluster-doctor-relay.ts). */
  | "doctor_wanted"
  /** `{ ask, instance, checkedAt, state, checks, done? }`: an instance's checks (doctor/cluster-doctor-relay.ts). */
  | "doctor_report";

export interface SignalMeta {
  /** Instance id of the publisher. */
  origin: string;
  /** True when this instance published it. */
  fromSelf: boolean;
}

export type SignalHandler = (payload: Record<string, unknown>, meta: SignalMeta) => void;

export interface ClusterSignals {
  /**
   * Publishes durably: resolves once the signal is committed; every live instance (this one included) gets it
   * exactly once, in publication order, even if its notification was lost (it reads the log on a poll too).
   * Payloads are small JSON (at most `MAX_SIGNAL_BYTES`) and never carry a secret: every instance and the
   * database see them. Throws `StorageUnavailableError` when the database cannot be reached (nothing published).
   */
  publish(topic: SignalTopic, payload: Record<string, unknown>): Promise<void>;
  /** Signals published after this instance started; handlers run one at a time, in publication order. */
  subscribe(topic: SignalTopic, handler: SignalHandler): () => void;
  /**
   * The current state of a state topic (`STATE_TOPICS`): the latest payload per key, e.g. every service's health
   * verdict by service id. An instance that starts later reads it once, then follows the signals.
   */
  state(topic: SignalTopic): Promise<Map<string, Record<string, unknown>>>;
  /**
   * Told when this instance may have missed signals (it was cut off from the database for longer than the log
   * keeps them): whoever keeps a cache that signals refresh reloads it from the database.
   */
  onMissed(listener: () => void): () => void;
}

export interface Leadership {
  /** True while this instance holds the singleton jobs. */
  readonly isLeader: boolean;
  /**
   * The fencing epoch of this instance's leadership: strictly increasing across the cluster, so a singleton job
   * passes it to the store and a write of a deposed leader is refused (docs/architecture/cluster.md, "Fencing").
   * Keeps the last value after stepping down; 0 before this instance ever led.
   */
  readonly epoch: number;
  /**
   * Told true when this instance becomes the leader, false when it stops being it (at once: before the lock is
   * released). Does not replay the current state: read `isLeader` after subscribing.
   */
  onChange(listener: (leader: boolean) => void): () => void;
}

/** One instance as the others see it. */
export interface ClusterMember {
  instanceId: string;
  name: string;
  /** Where it answers HTTP, when known. */
  url: string | null;
  version: string;
  startedAt: string;
  lastSeenAt: string;
  leader: boolean;
  /** Free-form state the instance reports about itself (registry revision, vault state, lag). */
  info: Record<string, unknown>;
}

export interface LeaderInfo {
  instanceId: string;
  epoch: number;
  since: string;
}

export interface Cluster {
  readonly mode: "single" | "postgres";
  readonly instanceId: string;
  readonly instanceName: string;
  readonly leadership: Leadership;
  readonly signals: ClusterSignals;
  /** Instances seen alive (membership rows fresher than the member timeout), this one included. */
  members(): Promise<ClusterMember[]>;
  /** The current leader while it is alive (a live member); null while there is none. */
  leader(): Promise<LeaderInfo | null>;
  /** What this instance reports in its membership row (merged into `info`; written with the next heartbeat). */
  report(info: Record<string, unknown>): void;
  /** Joins: membership, leadership, signals. Throws when the database cannot be reached. */
  start(): Promise<void>;
  /** Leaves: gives up leadership at once (another instance takes over without waiting for a timeout). */
  close(): Promise<void>;
}

/** The logger the cluster writes to (pino's `Logger` fits). */
export interface ClusterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Largest signal payload, bytes of JSON: signals say what changed, the database holds the data. */
export const MAX_SIGNAL_BYTES = 4096;

/**
 * Topics that are state as well as events, and the payload field that keys them: the latest payload per key is
 * kept (`ClusterSignals.state`). A payload whose `clearField` is null removes its key (a service without a verdict).
 */
export const STATE_TOPICS: Partial<Record<SignalTopic, { keyField: string; clearField: string }>> = {
  health_verdict: { keyField: "serviceId", clearField: "verdict" },
};

/** What a signal does to its topic's state: set or clear one key; null when the topic is not state or the payload has no key. */
export function stateEntry(topic: SignalTopic, payload: Record<string, unknown>): { key: string; clear: boolean } | null {
  const rule = STATE_TOPICS[topic];
  if (!rule) return null;
  const key = payload[rule.keyField];
  if (typeof key !== "string" || key === "") return null;
  return { key, clear: payload[rule.clearField] === null };
}

/** Checks a payload before it is published: a plain JSON object no larger than `MAX_SIGNAL_BYTES`. Returns its JSON. */
export function encodeSignalPayload(topic: SignalTopic, payload: Record<string, unknown>): string {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new TypeError(`signal ${topic}: the payload must be an object`);
  const json = JSON.stringify(payload);
  if (Buffer.byteLength(json) > MAX_SIGNAL_BYTES) throw new RangeError(`signal ${topic}: the payload is over ${MAX_SIGNAL_BYTES} bytes`);
  return json;
}

/** The handlers of each topic. Delivery is synchronous and in the caller's order; a throwing handler is logged and skipped. */
export class SignalSubscribers {
  private readonly handlers = new Map<SignalTopic, Set<SignalHandler>>();

  constructor(private readonly logger: ClusterLogger) {}

  subscribe(topic: SignalTopic, handler: SignalHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    // A wrapper per subscription, so subscribing one function twice delivers twice and each unsubscribe removes one.
    const entry: SignalHandler = (payload, meta) => handler(payload, meta);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  deliver(topic: SignalTopic, payload: Record<string, unknown>, meta: SignalMeta): void {
    const set = this.handlers.get(topic);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(payload, meta);
      } catch (error) {
        this.logger.error({ topic, err: error instanceof Error ? error.message : String(error) }, "a cluster signal handler failed");
      }
    }
  }
}

/** Listeners of a boolean or void event, each isolated from the others' failures. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  constructor(private readonly logger: ClusterLogger, private readonly what: string) {}

  add(listener: (value: T) => void): () => void {
    const entry = (value: T) => listener(value);
    this.set.add(entry);
    return () => {
      this.set.delete(entry);
    };
  }

  emit(value: T): void {
    for (const listener of [...this.set]) {
      try {
        listener(value);
      } catch (error) {
        this.logger.error({ err: error instanceof Error ? error.message : String(error) }, `a ${this.what} listener failed`);
      }
    }
  }
}
