/**
 * @module plugins/runtime/plugin-process
 * One plugin in its own OS process (issue 18, docs/plugins.md "Runtime"): a Node process running plugin-host.ts,
 * spoken to over IPC with schema-checked messages, every `invoke` with a timeout.
 *
 * Isolation, strongest first (docs/security.md "Plugins" says what it holds against and what not):
 * - its own process: a crash, a hang or a leak is the plugin's, never the node's;
 * - operating-system limits through `prlimit` (CPU seconds, no core files, no file growth, few descriptors, and
 *   RLIMIT_DATA: the data segment, where Buffers and native memory live, which V8's heap cap does not bound) and V8's
 *   heap cap (`--max-old-space-size`);
 * - no network unless `network` is set: a fresh network namespace (`unshare --user --net`, where unprivileged user
 *   namespaces are allowed) has no interface but a loopback that is down, so no socket reaches anything;
 * - a file boundary through bubblewrap (file-boundary.ts): the plugin's Node runs in its own mount namespace that holds
 *   the system's programs and libraries, Node, the host script and the plugin's folder, all read-only, and nothing of
 *   the node's data (its database, vault and TLS key files do not exist there); its own PID namespace (it sees no other
 *   process) and, unless it gets the network, its own network namespace (bwrap then replaces unshare);
 * Which of these the machine offers is isolation-probe.ts's answer; the supervisor refuses to start an unverified
 * plugin without them (unless `plugins.allowWeakIsolation`), so a process started here without one was allowed to.
 * - an empty environment (the node's variables, database URLs among them, are not inherited);
 * - Node's permission model as defence in depth (reads only of the host script and the plugin's folder; no child
 *   processes, no workers, no writes). Node's documentation says it is not a boundary against malicious code.
 *
 * - a CPU share: its process tree's CPU time is read from /proc every `cpuSampleMs` (cpu-watchdog.ts); more than
 *   `cpuPercent` of one CPU on average over `cpuWindowMs` stops it (`overloaded`). RLIMIT_CPU stays as a backstop.
 *
 * A plugin that sends anything the schemas refuse, answers an invoke it was not asked, does not answer within the
 * timeout, exits, exceeds a limit (memory, its CPU share) or floods the node with ServiceBus calls is stopped
 * (SIGKILL) and its state says why; pending calls fail at once. Its own calls to the node (`call` messages) go to `onCall`, which checks them
 * against its permissions (plugin-bus.ts); without `onCall` every call is refused.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { PluginHostMessageSchema, type PluginHostRequest } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { fileBoundaryArgs } from "./file-boundary.js";
import { probeIsolation, type IsolationTools } from "./isolation-probe.js";
import { CpuWatchdog } from "./cpu-watchdog.js";

export type PluginProcessState = "starting" | "running" | "stopped" | "crashed" | "hung" | "flooded" | "overloaded" | "failed";

/** Answers a plugin's ServiceBus call (resolves with the output, rejects with an ApiError the plugin sees). */
export type PluginCallHandler = (method: string, params: unknown) => Promise<unknown>;

export interface PluginProcessOptions {
  /** The plugin's folder (absolute) and its entrypoint, relative to it. */
  folder: string;
  entrypoint: string;
  /** V8 heap cap, MiB. */
  maxOldSpaceMb?: number;
  /**
   * The data segment's cap (RLIMIT_DATA), MiB: the heap, Buffers and native memory together. Default: the heap cap plus
   * DATA_HEADROOM_MB for V8's own spaces and Node's start (Node 20 starts within 48 MiB of RLIMIT_DATA; measured).
   */
  maxDataMb?: number;
  /** CPU seconds the process may use in all (prlimit); past it the kernel ends it. A backstop: the share below is the limit. */
  cpuSeconds?: number;
  /**
   * The most of one CPU (percent) its process tree may use on average over `cpuWindowMs`, measured from outside
   * (cpu-watchdog.ts); past it, it is stopped (`overloaded`). 0: not watched.
   */
  cpuPercent?: number;
  cpuWindowMs?: number;
  /** How often its CPU time is read, ms. */
  cpuSampleMs?: number;
  /** How long the entrypoint may take to load, ms. */
  startTimeoutMs?: number;
  /** How long one invoke may take, ms (per call override in `invoke`). */
  invokeTimeoutMs?: number;
  /** Calls waiting for an answer at most; more are refused (a caller cannot queue unbounded work). */
  maxPending?: number;
  /** True: the plugin shares the node's network (a `network:` permission); false: its own empty network namespace. */
  network?: boolean;
  /** ServiceBus calls per second the plugin may make on average (twice as many in a burst); past it, it is stopped. */
  maxCallsPerSecond?: number;
  /** Its calls to the node waiting for an answer at most; past it, it is stopped (a flood, not a queue). */
  maxCallsPending?: number;
  /**
   * False only in tests that play a hostile plugin which escaped Node's permission model (to show what the file
   * boundary holds on its own); the runtime never sets it.
   */
  permissionModel?: boolean;
}

/** Which of the isolation layers this plugin process got (they depend on what the machine offers). */
export interface PluginIsolation {
  prlimit: boolean;
  networkNamespace: boolean;
  permissionModel: boolean;
  /** bubblewrap's mount namespace: none of the node's files but the plugin's folder are there to read. */
  fileBoundary: boolean;
}

/** What the data segment may hold beyond the V8 heap cap by default, MiB (young generation, code, Node's own, Buffers). */
export const DATA_HEADROOM_MB = 192;
const DEFAULTS = { maxOldSpaceMb: 64, maxDataMb: 0, cpuSeconds: 60, cpuPercent: 100, cpuWindowMs: 10_000, cpuSampleMs: 1_000, startTimeoutMs: 5_000, invokeTimeoutMs: 5_000, maxPending: 64, network: false, maxCallsPerSecond: 100, maxCallsPending: 32, permissionModel: true } as const;
/** Node events written to a plugin's channel and not yet taken by the system at most; more are dropped. */
export const MAX_EVENTS_IN_FLIGHT = 1_000;
/** The last bytes of the plugin's stderr kept to explain an exit (never logged by this module). */
const STDERR_TAIL_BYTES = 4096;

/** plugin-host.js next to this module in `dist/`; from `src/` (tests run the sources) the built one. */
export function hostScriptPath(): string {
  // From the module's own path as text: a bundler (vite, in the web app's tests) may rewrite `new URL(…, import.meta.url)`
  // to an http URL, which fileURLToPath refuses.
  const beside = join(dirname(fileURLToPath(import.meta.url)), "plugin-host.js");
  if (existsSync(beside)) return beside;
  const built = beside.replace(/([/\\])src([/\\]plugins[/\\]runtime[/\\])/, "$1dist$2");
  if (existsSync(built)) return built;
  throw new Error(`the plugin host script is not built (${built}): run npm run build`);
}

/** Node's permission flags for this Node version: reads of the host and the folder only. */
function permissionFlags(host: string, folder: string): string[] {
  const major = Number(process.versions.node.split(".")[0]);
  const flag = process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";
  // One flag per path (a comma-separated list is not read as a list by every version); Node 20 wants `/*` for a folder's contents.
  return [flag, `--allow-fs-read=${host}`, `--allow-fs-read=${major <= 20 ? `${folder}/*` : folder}`];
}

interface Pending {
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class PluginProcess {
  private state_: PluginProcessState = "starting";
  private reason_: string | null = null;
  private capabilities_: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = "";
  private readonly exited: Promise<void>;
  private callsPending = 0;
  private callTokens: number;
  private callTokensAt = Date.now();
  private onCall: PluginCallHandler | undefined;
  private readonly exitListeners: Array<() => void> = [];
  private watchdog: CpuWatchdog | null = null;
  private eventsInFlight = 0;
  private droppedEvents_ = 0;

  private constructor(private readonly child: ChildProcess, private readonly options: Required<PluginProcessOptions>, readonly isolation: PluginIsolation, private readonly underBwrap: boolean) {
    this.callTokens = options.maxCallsPerSecond * 2;
    this.exited = new Promise((resolveExit) => child.once("exit", () => resolveExit()));
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    });
    // Output on stdout is the plugin's business; it is read so the pipe never fills and blocks it.
    child.stdout?.resume();
    child.on("exit", (code, signal) => this.onExit(code, signal));
    child.on("error", (error) => this.end("failed", `the process could not run: ${error.message}`));
  }

  /**
   * Starts the plugin; resolves once its entrypoint loaded, rejects (and leaves nothing running) otherwise. `tools`: the
   * protections this machine offers (the real probe; the supervisor passes the one it checked).
   */
  static async start(options: PluginProcessOptions, onCall?: PluginCallHandler, tools: IsolationTools = probeIsolation()): Promise<PluginProcess> {
    if (!isAbsolute(options.folder)) throw new TypeError("the plugin folder must be an absolute path");
    const merged = { ...DEFAULTS, ...options, folder: resolve(options.folder) };
    const settings: Required<PluginProcessOptions> = { ...merged, maxDataMb: options.maxDataMb ?? merged.maxOldSpaceMb + DATA_HEADROOM_MB };
    const host = hostScriptPath();
    const nodeArgs = [`--max-old-space-size=${settings.maxOldSpaceMb}`, ...(settings.permissionModel ? permissionFlags(host, settings.folder) : []), host, settings.folder, settings.entrypoint];
    // prlimit sets the limits and execs bwrap (or unshare, when the plugin gets no network and bwrap is missing), which
    // runs Node: the limits are inherited by every process below prlimit.
    let argv = [process.execPath, ...nodeArgs];
    const bwrap = tools.bwrap;
    const unshare = settings.network || bwrap ? null : tools.unshare;
    // No --clearenv: the environment is already empty but for the IPC channel's descriptor, which Node's spawn sets and
    // the host needs (NODE_CHANNEL_FD); the channel's descriptor and the stdio pipes pass through bwrap unchanged.
    if (bwrap) argv = [bwrap, ...fileBoundaryArgs({ host, folder: settings.folder, network: settings.network }), "--", ...argv];
    else if (unshare) argv = [unshare, "--user", "--map-root-user", "--net", "--", ...argv];
    const prlimit = tools.prlimit;
    // RLIMIT_DATA, not RLIMIT_AS: V8 reserves far more address space than it uses (the cage, code ranges), so an AS cap
    // sized to a plugin's memory stops Node from starting; RLIMIT_DATA counts private writable mappings, which V8 and
    // the allocator make only for memory they commit (the heap's pages, Buffers), not for reservations.
    if (prlimit) argv = [prlimit, `--cpu=${settings.cpuSeconds}`, "--core=0", "--fsize=0", "--nofile=256", `--data=${settings.maxDataMb * 1024 * 1024}`, "--", ...argv];
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, {
      cwd: settings.folder,
      // Nothing of the node's environment: its variables hold database URLs, tokens and passphrases.
      env: {},
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      shell: false,
      windowsHide: true,
    });
    const isolation: PluginIsolation = {
      prlimit: prlimit !== null,
      networkNamespace: unshare !== null || (bwrap !== null && !settings.network),
      permissionModel: settings.permissionModel,
      fileBoundary: bwrap !== null,
    };
    const plugin = new PluginProcess(child, settings, isolation, bwrap !== null);
    plugin.onCall = onCall;
    await plugin.ready();
    return plugin;
  }

  get state(): PluginProcessState {
    return this.state_;
  }

  /** Why the plugin is not running (null while it is). */
  get reason(): string | null {
    return this.reason_;
  }

  get capabilities(): readonly string[] {
    return this.capabilities_;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ready(): Promise<void> {
    return new Promise((resolveReady, rejectReady) => {
      const timer = setTimeout(() => {
        this.end("failed", `did not load within ${this.options.startTimeoutMs} ms`);
        rejectReady(new Error(this.reason_ ?? "did not start"));
      }, this.options.startTimeoutMs);
      this.child.on("message", (raw: unknown) => {
        const parsed = PluginHostMessageSchema.safeParse(raw);
        if (!parsed.success) return this.end("failed", "sent a message the protocol does not allow");
        const message = parsed.data;
        if (message.type === "ready") {
          if (this.state_ !== "starting") return this.end("failed", "said it was ready twice");
          clearTimeout(timer);
          this.capabilities_ = message.capabilities;
          this.state_ = "running";
          this.watchCpu();
          return resolveReady();
        }
        if (message.type === "failed") {
          clearTimeout(timer);
          this.end("failed", message.error);
          return rejectReady(new Error(message.error));
        }
        if (message.type === "call") return this.answerCall(message.id, message.method, message.params);
        const call = this.pending.get(message.id);
        if (!call) return this.end("failed", "answered a call it was not asked");
        this.pending.delete(message.id);
        clearTimeout(call.timer);
        if (message.ok) call.resolve(message.output);
        else call.reject(new ApiError("upstream_error", `the plugin failed: ${message.error}`));
      });
      this.child.once("exit", () => {
        clearTimeout(timer);
        if (this.state_ !== "running") rejectReady(new Error(this.reason_ ?? "exited while starting"));
      });
    });
  }

  /** From its start on: past its CPU share over the window, it is stopped like a plugin past its memory limit. */
  private watchCpu(): void {
    const { cpuPercent, cpuWindowMs, cpuSampleMs } = this.options;
    if (cpuPercent <= 0 || this.child.pid === undefined) return;
    this.watchdog = new CpuWatchdog({
      rootPid: this.child.pid,
      percent: cpuPercent,
      windowMs: cpuWindowMs,
      sampleMs: cpuSampleMs,
      onBreach: (used) => this.end("overloaded", `used ${used}% of a CPU over ${cpuWindowMs / 1000} s, more than its share of ${cpuPercent}%`),
    });
    this.watchdog.start();
  }

  /** Calls one capability; rejects on the plugin's error, a timeout (the plugin is then stopped) or a stopped plugin. */
  invoke(capability: string, input: unknown, timeoutMs: number = this.options.invokeTimeoutMs): Promise<unknown> {
    if (this.state_ !== "running") return Promise.reject(new ApiError("unavailable", `the plugin is ${this.state_}${this.reason_ ? `: ${this.reason_}` : ""}`));
    if (this.pending.size >= this.options.maxPending) return Promise.reject(new ApiError("rate_limited", "the plugin has too many calls waiting"));
    const id = this.nextId++;
    const request: PluginHostRequest = { type: "invoke", id, capability, input };
    return new Promise((resolveCall, rejectCall) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        rejectCall(new ApiError("upstream_timeout", `the plugin did not answer ${capability} within ${timeoutMs} ms; it was stopped`));
        this.end("hung", `did not answer ${capability} within ${timeoutMs} ms`);
      }, timeoutMs);
      this.pending.set(id, { resolve: resolveCall, reject: rejectCall, timer });
      try {
        this.child.send(request);
      } catch (error) {
        this.pending.delete(id);
        clearTimeout(timer);
        rejectCall(new ApiError("unavailable", `the plugin could not be reached: ${(error as Error).message}`));
      }
    });
  }

  /**
   * Hands a node event to the plugin (it subscribed through the ServiceBus); dropped when it is not running, and when
   * MAX_EVENTS_IN_FLIGHT are already waiting in its channel (a bulk load of registry changes, a plugin that does not
   * read): the node's memory never holds an unbounded backlog for a plugin. `droppedEvents` counts them.
   */
  sendEvent(event: unknown): void {
    if (this.state_ !== "running" || !this.child.connected) return;
    if (this.eventsInFlight >= MAX_EVENTS_IN_FLIGHT) {
      this.droppedEvents_ += 1;
      return;
    }
    const message: PluginHostRequest = { type: "event", event };
    try {
      this.eventsInFlight += 1;
      this.child.send(message, undefined, {}, () => {
        this.eventsInFlight -= 1;
      });
    } catch {
      // The channel closed between the check and the send: the exit handler reports it.
      this.eventsInFlight -= 1;
    }
  }

  /** Events not handed to the plugin because too many were already waiting in its channel. */
  get droppedEvents(): number {
    return this.droppedEvents_;
  }

  /** Called once when the process has ended, whatever ended it (the supervisor restarts it from here). */
  onEnded(listener: () => void): void {
    if (this.state_ !== "starting" && this.state_ !== "running") listener();
    else this.exitListeners.push(listener);
  }

  /** One ServiceBus call of the plugin: counted against its rate, answered with the handler's output or error. */
  private answerCall(id: number, method: string, params: unknown): void {
    const now = Date.now();
    const rate = this.options.maxCallsPerSecond;
    this.callTokens = Math.min(rate * 2, this.callTokens + ((now - this.callTokensAt) * rate) / 1000);
    this.callTokensAt = now;
    if (this.callTokens < 1) return this.end("flooded", `made more than ${rate} calls per second to the node`);
    if (this.callsPending >= this.options.maxCallsPending) return this.end("flooded", `had more than ${this.options.maxCallsPending} calls to the node waiting`);
    this.callTokens -= 1;
    this.callsPending += 1;
    const handler = this.onCall ?? (() => Promise.reject(new ApiError("forbidden", "this plugin may not call the node")));
    handler(method, params).then(
      (output) => this.reply({ type: "reply", id, ok: true, output: output ?? null }),
      (error: unknown) => this.reply({ type: "reply", id, ok: false, code: error instanceof ApiError ? error.code : "internal", error: error instanceof ApiError ? error.message : "the node could not answer the call" }),
    ).finally(() => {
      this.callsPending -= 1;
    });
  }

  private reply(message: PluginHostRequest): void {
    if (this.state_ !== "running" || !this.child.connected) return;
    try {
      this.child.send(message);
    } catch {
      // The plugin went away while the node answered: nobody is waiting.
    }
  }

  /** Stops the plugin (SIGKILL: a plugin gets no say in being stopped) and waits for its exit. */
  async stop(): Promise<void> {
    this.end("stopped", "stopped by the node");
    await this.exited;
  }

  private end(state: Exclude<PluginProcessState, "starting" | "running">, reason: string): void {
    if (this.state_ !== "starting" && this.state_ !== "running") return;
    this.state_ = state;
    this.reason_ = reason;
    this.watchdog?.stop();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(new ApiError("unavailable", `the plugin is ${state}: ${reason}`));
      this.pending.delete(id);
    }
    for (const listener of this.exitListeners.splice(0)) listener();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.state_ !== "starting" && this.state_ !== "running") return;
    // bwrap outlives the plugin's Node (it is its parent) and exits with 128 + the signal that ended it.
    if (this.underBwrap && signal === null && code !== null && code > 128) {
      const number = code - 128;
      signal = (Object.entries(constants.signals).find(([, value]) => value === number)?.[0] as NodeJS.Signals | undefined) ?? null;
      if (signal) code = null;
    }
    const tail = this.stderrTail;
    let reason: string;
    // Past RLIMIT_DATA, V8 or Node fails to get memory and aborts with an out-of-memory report like the heap's own.
    if (/heap limit|heap out of memory|Allocation failed|out of memory/i.test(tail)) reason = `exceeded its memory limit (${this.options.maxOldSpaceMb} MiB of heap, ${this.options.maxDataMb} MiB in all)`;
    else if (signal === "SIGXCPU" || signal === "SIGKILL") reason = `was killed by ${signal} (its CPU limit is ${this.options.cpuSeconds} s)`;
    else reason = signal ? `exited on ${signal}` : `exited with code ${code ?? "?"}`;
    this.end("crashed", reason);
  }
}
