/**
 * @module agents/a2a/server/push/a2a-push
 * A2A v1.0 push notifications on the node's own A2A endpoint (issue 16): the configs of a task
 * (`Create/Get/List/DeleteTaskPushNotificationConfig`, and `configuration.taskPushNotificationConfig` of a
 * SendMessage) checked, stored and handed to the delivery job (push-delivery.ts).
 *
 * The caller has already been shown the task (the request handler reads it as the caller: another's task is "not
 * found"), so whoever may see a task may set its configs. A config is `{id, taskId, url, authentication{scheme,
 * credentials}, token}` as A2A's; here:
 * - the URL is checked now (push-url.ts: http(s), no user-info, no loopback/private/link-local address unless
 *   `agents.a2a.push.allowPrivate`) and again at every send;
 * - credentials and the legacy token are sealed before they are stored (AES-256-GCM with a key derived from the node
 *   key, bound to the task and config id: auth/mfa/secret-sealer.ts) and never handed back: Get/List/Create answer
 *   them empty (the scheme is kept), and no log line carries them;
 * - a config made on a running task gets the events that FOLLOW it (a SendMessage's own config: every event of its
 *   task); a finished task takes none (read it with GetTask); at most MAX_CONFIGS_PER_TASK per task.
 */
import { randomUUID } from "node:crypto";
import type { TaskPushNotificationConfig } from "@a2a-js/sdk";
import { z } from "zod";
import { parseJson, type Task } from "@kai/protocol";
import type { Logger } from "../../../../logging/logger.js";
import type { EventHub } from "../../../../bus/event-hub.js";
import type { A2aPushStore, StoredPushConfig } from "../../../../storage/contracts/a2a-push-store.js";
import type { TaskStore } from "../../../../storage/contracts/task-store.js";
import { createSecretSealer, type SecretSealer } from "../../../../auth/mfa/secret-sealer.js";
import { isTerminal } from "../a2a-mapping.js";
import { checkPushUrl, PushUrlRefused, type PushUrlPolicy } from "./push-url.js";
import { PushDelivery, type PushDeliverySettings } from "./push-delivery.js";
import type { PushTarget } from "./push-sender.js";

/** Configs one task may have: each is a receiver the node POSTs every event to. */
export const MAX_CONFIGS_PER_TASK = 10;
const MAX_ID_CHARS = 200;
const MAX_SECRET_CHARS = 4096;
/** An HTTP auth scheme is a token (RFC 9110 §11.1). */
const SCHEME = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,63}$/;
/** Header-safe: visible ASCII and spaces, no CR/LF or other control characters (no header injection). */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/** A config the caller may not make: the message is safe to show (the request handler turns it into a malformed-request error). */
export class PushConfigInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushConfigInvalid";
  }
}

/** Another task or config: the caller sees the same as for a task they may not see. */
export class PushConfigNotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushConfigNotFound";
  }
}

export type A2aPushSettings = PushDeliverySettings;

export interface A2aPushDeps {
  store: A2aPushStore;
  tasks: Pick<TaskStore, "getTask">;
  hub: Pick<EventHub, "subscribe">;
  settings: A2aPushSettings;
  /** 32 bytes that seal credentials (derived from the node key; may throw while the key is sealed). Absent: configs with credentials are refused. */
  sealKey?: () => Buffer;
  logger: Logger;
  pollMs: number;
  /** Name resolution of the create-time check (tests); default: the system resolver. */
  resolve?: PushUrlPolicy["resolve"];
  now?: () => Date;
}

/** What is sealed: the credentials and the legacy token (the sealed text is the node's own, still parsed as any stored bytes). */
const SecretsSchema = z.object({ credentials: z.string().optional(), token: z.string().optional() });
type Secrets = z.infer<typeof SecretsSchema>;

/** A config that passed `check`: its id chosen, its URL and secrets checked. */
export interface CheckedPushConfig {
  id: string;
  url: string;
  scheme: string | null;
  secrets: Secrets;
}

const contextOf = (taskId: string, id: string) => `kai a2a push credentials\n${taskId}\n${id}`;

export class A2aPush {
  /** The delivery, a singleton job: the node adds it to its singleton jobs (it runs on the leading instance). */
  readonly delivery: PushDelivery;
  private readonly sealer: SecretSealer | null;

  constructor(private readonly deps: A2aPushDeps) {
    this.sealer = deps.sealKey ? createSecretSealer(deps.sealKey) : null;
    this.delivery = new PushDelivery({
      store: deps.store,
      tasks: deps.tasks,
      hub: deps.hub,
      settings: deps.settings,
      targetOf: (config) => this.targetOf(config),
      logger: deps.logger,
      pollMs: deps.pollMs,
    });
  }

  /**
   * Stores a config of `task` (which the caller may see). `fromStart`: a SendMessage's own config, which gets every
   * event of the task it made; otherwise the config gets the events after the task's current one.
   */
  async create(task: Task, config: TaskPushNotificationConfig, options: { fromStart: boolean } = { fromStart: false }): Promise<TaskPushNotificationConfig> {
    return this.store(task, await this.check(config), options);
  }

  /** Checks a config before anything is made of it (a SendMessage checks its config before it creates the task). */
  async check(config: TaskPushNotificationConfig): Promise<CheckedPushConfig> {
    const id = config.id || randomUUID();
    if (id.length > MAX_ID_CHARS || !HEADER_SAFE.test(id)) throw new PushConfigInvalid(`the push config id must be at most ${MAX_ID_CHARS} visible characters`);
    try {
      await checkPushUrl(config.url, { allowPrivate: this.deps.settings.allowPrivate, ...(this.deps.resolve ? { resolve: this.deps.resolve } : {}) });
    } catch (error) {
      if (error instanceof PushUrlRefused) throw new PushConfigInvalid(error.message);
      throw error;
    }
    const secrets = this.secretsOf(config);
    if ((secrets.credentials !== undefined || secrets.token !== undefined) && !this.sealer) throw new PushConfigInvalid("this node cannot store push credentials (no sealing key)");
    return { id, url: config.url, scheme: config.authentication?.scheme || null, secrets };
  }

  /** Stores a checked config of `task`; see `create`. */
  async store(task: Task, checked: CheckedPushConfig, options: { fromStart: boolean }): Promise<TaskPushNotificationConfig> {
    if (!options.fromStart && isTerminal(task.state)) throw new PushConfigInvalid(`task ${task.id} is ${task.state}: it has no more events to push (read it with GetTask)`);
    const { id, secrets } = checked;
    const existing = await this.deps.store.listConfigs(task.id);
    if (existing.length >= MAX_CONFIGS_PER_TASK && !existing.some((row) => row.id === id)) {
      throw new PushConfigInvalid(`task ${task.id} has ${MAX_CONFIGS_PER_TASK} push configs already: delete one first`);
    }
    const sealed = secrets.credentials !== undefined || secrets.token !== undefined ? this.sealer!.seal(Buffer.from(JSON.stringify(secrets), "utf8"), contextOf(task.id, id)) : null;
    const stored = await this.deps.store.putConfig({
      taskId: task.id,
      id,
      owner: task.owner,
      url: checked.url,
      scheme: checked.scheme,
      sealed,
      deliveredSeq: options.fromStart ? 0 : task.lastSeq,
      createdAt: (this.deps.now?.() ?? new Date()).toISOString(),
    });
    // A replaced config's loop still has the old receiver: end it, and follow the config again from its stored position.
    this.delivery.forget(task.id, id);
    this.delivery.wake();
    return toA2aConfig(stored);
  }

  async get(task: Task, id: string): Promise<TaskPushNotificationConfig> {
    const row = await this.deps.store.getConfig(task.id, id);
    if (!row) throw new PushConfigNotFound(`task ${task.id} has no push config ${JSON.stringify(id.slice(0, MAX_ID_CHARS))}`);
    return toA2aConfig(row);
  }

  async list(task: Task): Promise<TaskPushNotificationConfig[]> {
    return (await this.deps.store.listConfigs(task.id)).map(toA2aConfig);
  }

  /** Deletes the config (its receiver gets nothing more); deleting one that is not there is not an error (A2A: idempotent). */
  async delete(task: Task, id: string): Promise<void> {
    await this.deps.store.deleteConfig(task.id, id);
    this.delivery.forget(task.id, id);
  }

  private secretsOf(config: TaskPushNotificationConfig): Secrets {
    const secrets: Secrets = {};
    const auth = config.authentication;
    if (auth && (auth.scheme || auth.credentials)) {
      if (!SCHEME.test(auth.scheme)) throw new PushConfigInvalid("authentication.scheme must be an HTTP authentication scheme (e.g. Bearer)");
      if (!auth.credentials) throw new PushConfigInvalid("authentication.credentials is empty");
      if (auth.credentials.length > MAX_SECRET_CHARS || !HEADER_SAFE.test(auth.credentials)) throw new PushConfigInvalid(`authentication.credentials must be at most ${MAX_SECRET_CHARS} visible characters`);
      secrets.credentials = auth.credentials;
    }
    if (config.token) {
      if (config.token.length > MAX_SECRET_CHARS || !HEADER_SAFE.test(config.token)) throw new PushConfigInvalid(`token must be at most ${MAX_SECRET_CHARS} visible characters`);
      secrets.token = config.token;
    }
    return secrets;
  }

  /** The receiver with its secrets opened (throws when they cannot be: the node key sealed, or a row altered). */
  private targetOf(config: StoredPushConfig): PushTarget {
    if (config.sealed === null) return { url: config.url };
    if (!this.sealer) throw new Error("push credentials are stored but this node has no sealing key");
    const json = parseJson(this.sealer.open(config.sealed, contextOf(config.taskId, config.id)).toString("utf8"));
    const secrets = json.ok ? SecretsSchema.safeParse(json.value) : undefined;
    if (!secrets?.success) throw new Error("stored push credentials are unreadable");
    return { url: config.url, scheme: config.scheme ?? undefined, credentials: secrets.data.credentials, token: secrets.data.token };
  }
}

/** A stored config as A2A's, its secrets left out (the scheme says which authentication it uses). */
export function toA2aConfig(row: StoredPushConfig): TaskPushNotificationConfig {
  return {
    tenant: "",
    id: row.id,
    taskId: row.taskId,
    url: row.url,
    token: "",
    authentication: row.scheme ? { scheme: row.scheme, credentials: "" } : undefined,
  };
}
