/**
 * The process side shared by the helpers that run a real server program for tests (postgres-server.ts,
 * redis-server.ts): a free loopback port, the server's output kept for error messages, waiting until it
 * answers (or failing with that output when it exits or takes too long), and stopping it with a signal.
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/**
 * Test ports come from below the OS's ephemeral range (Linux: 32768–60999), where `bind(0)` and every outgoing
 * connection take theirs: a port the OS handed out and this helper let go of could be handed to another socket (an
 * outgoing connection, another test file's `bind(0)`) before the program told to use it bound it — what failed CI
 * on 2026-12-05 (a provider's port, EADDRINUSE). Each of vitest's workers (VITEST_POOL_ID, 1, 2, …) counts through
 * a block of its own, so two test files running at once never pick the same one; ports in use are skipped.
 */
const FIRST_TEST_PORT = 20_000;
const PORTS_PER_WORKER = 2_000;
const WORKER_BLOCKS = 6;
/** Where this process goes on in its block (it starts at a place of its own: a worker's next process may overlap the last's). */
let nextInBlock = (process.pid * 37) % PORTS_PER_WORKER;

/** True when nothing listens on `port` on the loopback (a listener of ours opened and closed on it). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port free now, for a program a test starts and must tell its port (`kai serve --port`, redis-server,
 * postgres): not one the OS may hand to someone else meanwhile (see FIRST_TEST_PORT).
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? 0);
  const block = FIRST_TEST_PORT + ((Number.isInteger(worker) ? worker : 0) % WORKER_BLOCKS) * PORTS_PER_WORKER;
  for (let tried = 0; tried < PORTS_PER_WORKER; tried++) {
    const port = block + (nextInBlock++ % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in ${block}–${block + PORTS_PER_WORKER - 1}`);
}

export interface ServerProcessOptions {
  /** The program's name in error messages. */
  name: string;
  /** Starts the program (stdout and stderr piped). */
  spawn: () => ChildProcess;
  /** Whether the program answers yet; a throw counts as "not yet". */
  ready: () => Promise<boolean>;
  /** How long `start` waits for `ready`, and the message when it did not come ("did not answer PING within 20 s"). */
  readyWithin: { ms: number; message: string };
  /** Pause between two `ready` probes. */
  pollMs: number;
}

export interface ServerProcess {
  /** Spawns the program and resolves once it is ready; rejects (with its last output) when it exits or is too slow. */
  start(): Promise<void>;
  /** Sends `sig` to the running program and waits for it to exit; false (and nothing sent) when it is not running. */
  signal(sig: NodeJS.Signals): Promise<boolean>;
}

const exited = (proc: ChildProcess): Promise<void> =>
  proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once("exit", () => resolve()));

export function serverProcess(options: ServerProcessOptions): ServerProcess {
  let child: ChildProcess | null = null;
  let output = "";

  const waitReady = async (proc: ChildProcess): Promise<void> => {
    const deadline = Date.now() + options.readyWithin.ms;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${options.name} exited with ${proc.exitCode}: ${output}`);
      if (await options.ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${options.name} ${options.readyWithin.message}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    }
  };

  return {
    async start() {
      output = "";
      const proc = options.spawn();
      // The last 4000 characters are enough to say why a server did not come up.
      const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
      proc.stdout?.on("data", keep);
      proc.stderr?.on("data", keep);
      child = proc;
      await waitReady(proc);
    },
    async signal(sig) {
      const proc = child;
      if (!proc) return false;
      child = null;
      proc.kill(sig);
      await exited(proc);
      return true;
    },
  };
}
