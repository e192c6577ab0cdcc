/**
 * @module agents/runtime/supervised-agent
 * One agent the node runs: its process and its state. `start` prepares a launch (a fresh token, the environment
 * from the vault) and spawns the command without a shell, in a process group of its own so that stopping it ends
 * whatever it started too. A process that fails (non-zero exit, a signal the node did not send, or no process at
 * all) is started again after a backoff that doubles each time, until `maxRestarts` in a row, then it is `crashed`;
 * one that exits with 0 is `stopped` and left so. `stop` sends SIGTERM to the group, SIGKILL after the grace.
 * Starts and stops are applied one at a time, in the order asked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { AgentRunState, AgentRunStatus, RunAgentSpec } from "@kai/protocol";
import type { Logger } from "../../logging/logger.js";
import { logLines } from "./output-lines.js";

/** What one launch needs that the supervisor does not make itself. */
export interface LaunchPort {
  /** A fresh token and the process's environment (throws when it cannot: e.g. the vault is locked). */
  prepare(spec: RunAgentSpec): Promise<{ env: Record<string, string>; token: string; tokenId: string }>;
  /** The launch's token is done with (the process ended, or never started). */
  release(tokenId: string): Promise<void>;
  /** The process ended (the runtime puts the agent's record offline at once rather than after its lease). */
  ended(spec: RunAgentSpec): Promise<void>;
}

/** A run this long counts as a success: the restarts in a row start from 0 again. */
const STABLE_RUN_MS = 60_000;
const MAX_BACKOFF_MS = 60_000;
const MAX_REASON = 300;

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.slice(0, MAX_REASON);
}

export class SupervisedAgent {
  private status: AgentRunStatus = "stopped";
  private since = new Date().toISOString();
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private restarts = 0;
  private lastExit: AgentRunState["lastExit"] = null;
  private error: string | null = null;
  private nextStartAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private wanted: "running" | "stopped" = "stopped";
  private queue: Promise<unknown> = Promise.resolve();
  /** Resolves once the last ended process's token is revoked and its record put offline. */
  private settled: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: RunAgentSpec,
    readonly source: "config" | "api",
    private readonly port: LaunchPort,
    private readonly logger: Logger,
    /** Told after each change of state (the leader of many instances reports the states to the others). */
    private readonly changed: () => void = () => undefined,
  ) {}

  state(): AgentRunState {
    return {
      id: this.spec.id,
      state: this.status,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastExit: this.lastExit,
      error: this.error,
      since: this.since,
      autostart: this.spec.autostart,
      source: this.source,
      nextStartAt: this.nextStartAt === null ? null : new Date(this.nextStartAt).toISOString(),
    };
  }

  /** Starts it (a start by hand also forgets earlier failures); a running one is left running. */
  start(): Promise<AgentRunState> {
    return this.enqueue(async () => {
      this.wanted = "running";
      this.restarts = 0;
      this.cancelBackoff();
      if (this.child === undefined) {
        await this.settled;
        await this.launch();
      }
      return this.state();
    });
  }

  /** Stops it and keeps it stopped (no restart) until started again. */
  stop(): Promise<AgentRunState> {
    return this.enqueue(async () => {
      this.wanted = "stopped";
      this.cancelBackoff();
      await this.terminate();
      this.set("stopped");
      return this.state();
    });
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private set(status: AgentRunStatus): void {
    if (status !== this.status) this.since = new Date().toISOString();
    this.status = status;
    if (status !== "backoff") this.nextStartAt = null;
    this.changed();
  }

  private cancelBackoff(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextStartAt = null;
  }

  private async launch(): Promise<void> {
    this.set("starting");
    this.error = null;
    let prepared: Awaited<ReturnType<LaunchPort["prepare"]>>;
    try {
      prepared = await this.port.prepare(this.spec);
    } catch (error) {
      this.error = `could not be prepared: ${reasonOf(error)}`;
      this.logger.warn({ err: this.error }, "a run-agent could not be started");
      this.failed();
      return;
    }
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, this.spec.args, {
        ...(this.spec.cwd !== undefined ? { cwd: this.spec.cwd } : {}),
        env: prepared.env,
        stdio: ["ignore", "pipe", "pipe"],
        shell: false,
        detached: true,
        windowsHide: true,
      });
    } catch (error) {
      await this.port.release(prepared.tokenId);
      this.error = `could not be spawned: ${reasonOf(error)}`;
      this.logger.warn({ err: this.error }, "a run-agent could not be started");
      this.failed();
      return;
    }
    this.child = child;
    logLines(child.stdout!, { logger: this.logger, stream: "stdout", secret: prepared.token });
    logLines(child.stderr!, { logger: this.logger, stream: "stderr", secret: prepared.token });
    let spawned!: () => void;
    const running = new Promise<void>((resolve) => (spawned = resolve));
    this.exited = new Promise<void>((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (ended) return;
        ended = true;
        spawned();
        void this.onEnded(child, { code, signal, ...(error ? { error } : {}), ranMs: Date.now() - startedAt, tokenId: prepared.tokenId }).finally(resolve);
      };
      child.once("error", (error) => end(null, null, error));
      child.once("exit", (code, signal) => end(code, signal));
    });
    child.once("spawn", () => {
      this.set("running");
      this.logger.info({ pid: child.pid }, "run-agent started");
      spawned();
    });
    await running;
  }

  /**
   * The process ended. The state is decided at once (a reader never sees `running` without a process); the token is
   * revoked and the record put offline before a restart may spawn again (the restart waits for `settled`).
   */
  private async onEnded(child: ChildProcess, how: { code: number | null; signal: NodeJS.Signals | null; error?: Error; ranMs: number; tokenId: string }): Promise<void> {
    if (this.child === child) this.child = undefined;
    this.lastExit = { code: how.code, signal: how.signal, at: new Date().toISOString() };
    if (how.error) this.error = `could not be spawned: ${reasonOf(how.error)}`;
    if (how.ranMs >= STABLE_RUN_MS) this.restarts = 0;
    this.logger[how.code === 0 ? "info" : "warn"]({ code: how.code, signal: how.signal, ...(how.error ? { err: this.error } : {}) }, "run-agent exited");
    let settle!: () => void;
    this.settled = new Promise<void>((resolve) => (settle = resolve));
    // A stop in progress decides the state itself (an exit the node asked for).
    if (this.wanted === "running") {
      if (how.code === 0 && how.signal === null && !how.error) {
        this.wanted = "stopped";
        this.set("stopped");
      } else {
        this.failed();
      }
    }
    try {
      await this.port.release(how.tokenId);
      await this.port.ended(this.spec).catch((error: unknown) => this.logger.warn({ err: reasonOf(error) }, "the run-agent's record could not be put offline"));
    } finally {
      settle();
    }
  }

  /** It failed: try again later, or give up. */
  private failed(): void {
    if (this.wanted !== "running") {
      this.set("stopped");
      return;
    }
    if (this.spec.restart === "never" || this.restarts >= this.spec.maxRestarts) {
      this.set("crashed");
      this.logger.error({ restarts: this.restarts }, "run-agent crashed; not started again");
      return;
    }
    const delay = Math.min(this.spec.backoffMs * 2 ** this.restarts, MAX_BACKOFF_MS);
    this.restarts++;
    this.set("backoff");
    this.nextStartAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(async () => {
        await this.settled;
        if (this.wanted === "running" && this.child === undefined && this.status === "backoff") await this.launch();
      });
    }, delay);
    this.timer.unref();
  }

  /** SIGTERM to its process group, SIGKILL after the grace; resolves once it has exited and been accounted for. */
  private async terminate(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return;
    this.signal(child, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.spec.stopGraceMs)));
    const late = await Promise.race([exited.then(() => false), graceOver]);
    clearTimeout(timer);
    if (late) {
      this.logger.warn({ graceMs: this.spec.stopGraceMs }, "run-agent did not stop in time; killed");
      this.signal(child, "SIGKILL");
      await exited;
    }
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      // The group (negative pid): what the command started ends with it.
      if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      child.kill(signal);
    }
  }
}
