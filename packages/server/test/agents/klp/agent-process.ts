/**
 * Starts `klp-agent-child.ts` as a real child process (through tsx, so it runs the SDK and protocol from source
 * like the in-process tests) and follows what it reports on stdout. `kill()` is SIGKILL: no goodbye, no
 * deregistration, the connection just drops, as when an agent's machine dies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./klp-agent-child.ts", import.meta.url));
const TSCONFIG = fileURLToPath(new URL("../../../../../tsconfig.test.json", import.meta.url));

export interface AgentLine {
  event: string;
  [key: string]: unknown;
}

export class AgentProcess {
  readonly lines: AgentLine[] = [];
  did = "";
  url = "";
  private readonly waiters = new Set<() => void>();
  private stderr = "";

  private constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    let buffered = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(text) as AgentLine);
        } catch {
          continue;
        }
        for (const wake of this.waiters) wake();
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.on("exit", () => {
      for (const wake of this.waiters) wake();
    });
  }

  static async start(options: { id: string; skills: string[]; url: string; token: string; behaviour?: "echo" | "hang" }): Promise<AgentProcess> {
    const dir = mkdtempSync(join(tmpdir(), "kai-klp-agent-"));
    const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
      env: {
        PATH: process.env.PATH ?? "",
        TSX_TSCONFIG_PATH: TSCONFIG,
        KAI_URL: options.url,
        KAI_TOKEN: options.token,
        AGENT_ID: options.id,
        AGENT_SKILLS: JSON.stringify(options.skills),
        AGENT_BEHAVIOUR: options.behaviour ?? "echo",
        AGENT_KEY_FILE: join(dir, "agent-key.json"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const agent = new AgentProcess(options.id, child, dir);
    const ready = await agent.waitFor((line) => line.event === "ready", 30_000);
    agent.did = String(ready.did);
    agent.url = String(ready.url);
    return agent;
  }

  /** The first line (already seen or coming) that matches. */
  waitFor(match: (line: AgentLine) => boolean, timeoutMs = 15_000): Promise<AgentLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found) return done(() => resolve(found));
        if (this.child.exitCode !== null || this.child.signalCode !== null) done(() => reject(new Error(`${this.id} exited: ${this.stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.id}: no matching line in ${timeoutMs} ms; stderr: ${this.stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
