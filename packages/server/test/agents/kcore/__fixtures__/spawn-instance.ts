/**
 * @module test/agents/kcore/__fixtures__/spawn-instance
 * Starts one instance of a node as its own process (task-instance.ts) for the kill -9 tests: resolves with the child
 * and its URL once it serves; its stderr is kept (the last 4 KB) for the error when it exits before serving.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./task-instance.ts", import.meta.url));

export interface SpawnedInstance {
  child: ChildProcess;
  url: string;
}

export function spawnInstance(options: unknown): Promise<SpawnedInstance> {
  const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(options)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`the instance exited before it served (${code ?? signal}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (text) => {
      try {
        const line = JSON.parse(text) as { event?: string; url?: string };
        if (line.event === "ready" && line.url) resolve({ child, url: line.url });
      } catch {
        // Not one of the fixture's lines.
      }
    });
  });
}
