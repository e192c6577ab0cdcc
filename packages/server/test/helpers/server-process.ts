/**
 * The process side shared by the helpers that run a real server program for tests (postgres-server.ts,
 * redis-server.ts): a free loopback port, the server's output kept for error messages, waiting until it
 * answers (or failing with that output when it exits or takes too long), and stopping it with a signal.
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
