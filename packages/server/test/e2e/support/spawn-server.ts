/**
 * @module test/e2e/support/spawn-server
 * Runs the built server as a separate process — through the fixture (`READY <url>` on stdout) or through
 * the real CLI (`kai serve`, URL on stderr) — so that tests can kill it with real signals.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("../__fixtures__/serve-fixture.mjs", import.meta.url));
const SERVER_DIST = fileURLToPath(new URL("../../../dist/index.js", import.meta.url));
export const CLI_MAIN = fileURLToPath(new URL("../../../../cli/dist/main.js", import.meta.url));

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  adminToken: string;
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export async function spawnServer(dataDir: string, configFile: string, via: "fixture" | "cli" = "fixture", extraEnv: Record<string, string> = {}): Promise<SpawnedServer> {
  const main = via === "fixture" ? SERVER_DIST : CLI_MAIN;
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the e2e tests`);
  const args = via === "fixture" ? [FIXTURE, dataDir, configFile] : [CLI_MAIN, "serve", "--port", "0", "--data-dir", dataDir, "--config", configFile, "--quiet"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KAI_PORT: "", KAI_HOST: "", KAI_DATA_DIR: "", KAI_CONFIG: "", ...extraEnv } });
  let text = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 15 s:\n${text}`)), 15_000);
    const pattern = via === "fixture" ? /READY (http:\/\/\S+)/ : /listening on (http:\/\/\S+)/;
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code ?? signal}):\n${text}`));
    });
  });
  const adminToken = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  return { child, url, adminToken, exited, output: () => text };
}
