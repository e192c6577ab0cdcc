/**
 * @module test/browser/harness
 * End-to-end tests in a real browser: the BUILT node (`node packages/cli/dist/main.js serve`, a fresh data dir, a
 * free port) serving the BUILT web app, and Debian's Chromium driven by playwright-core. Nothing is mocked: the
 * app signs in, calls and streams exactly as it does for people.
 *
 * Chromium is `KAI_TEST_CHROMIUM` or `/usr/bin/chromium`. Where there is none, the browser tests are skipped with
 * a message saying how to get one, except under `CI=true`, where a missing browser fails the run (CI must test).
 * The node is reached as `http://localhost:<port>`: WebAuthn refuses IP addresses, and `localhost` is the relying
 * party the node derives by default (auth/mfa/webauthn-settings.ts).
 *
 * One browser per test file, reused across its tests (CI has 2 cores): `launchBrowser()` in beforeAll, a fresh
 * context (cookies, storage) per test where isolation matters.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from "playwright-core";
// A free port for `kai serve --port`, chosen outside the OS's ephemeral range (server-process.ts).
import { freePort } from "../../../server/test/helpers/server-process.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
export const CLI_MAIN = join(REPO, "packages/cli/dist/main.js");
/** The built app the node serves; `KAI_TEST_WEB_ROOT` points at another build (a private `vite build --outDir`). */
export const WEB_ROOT = process.env.KAI_TEST_WEB_ROOT ?? join(REPO, "packages/web/dist");
export const EXTENSION_ROOT = process.env.KAI_TEST_EXTENSION_ROOT ?? join(REPO, "packages/web/dist-extension");

/** Switches that keep a test browser quiet, deterministic and off the network. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** The Chromium to drive, or undefined (with the reason printed) when there is none and this is not CI. */
export function findChromium(): string | undefined {
  const candidate = process.env.KAI_TEST_CHROMIUM ?? "/usr/bin/chromium";
  if (existsSync(candidate)) return candidate;
  const message = `No Chromium at ${candidate}: the browser tests need one (Debian/Ubuntu: apt-get install chromium; or set KAI_TEST_CHROMIUM to a Chromium or Chrome binary).`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`[browser tests skipped] ${message}`);
  return undefined;
}

/** The builds the tests drive must exist: a clear message instead of a server that cannot start. */
export function assertBuilt(): void {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run npm run build`);
  if (!existsSync(join(WEB_ROOT, "index.html"))) throw new Error(`${WEB_ROOT}/index.html is missing: run npm run build:web`);
}

/**
 * The extension's build: `dist-extension/` (`npm run build:extension -w @kai/web`), or, when there is none, one
 * made now into a temp folder (about half a minute), so that `npm test` covers the extension without its own step.
 */
export async function extensionBuild(): Promise<string> {
  if (existsSync(join(EXTENSION_ROOT, "manifest.json"))) return EXTENSION_ROOT;
  const outDir = mkdtempSync(join(tmpdir(), "kai-extension-"));
  const vite = join(REPO, "node_modules/vite/bin/vite.js");
  const child = spawn(process.execPath, [vite, "build", "--mode", "extension", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], { cwd: join(REPO, "packages/web"), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  if (code !== 0 || !existsSync(join(outDir, "manifest.json"))) throw new Error(`building the extension failed (${code}): ${stderr.slice(-2000)}`);
  return outDir;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) throw new Error("no Chromium (see findChromium)");
  return chromium.launch({ executablePath, headless: true, ...options, args: [...CHROMIUM_ARGS, ...(options.args ?? [])] });
}

/**
 * A persistent context with the extension at `root` loaded unpacked (extensions need one; headless=new runs
 * them). Playwright's own `--disable-extensions` default is dropped for it.
 */
export async function launchWithExtension(root: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = findChromium();
  if (executablePath === undefined) throw new Error("no Chromium (see findChromium)");
  const profile = mkdtempSync(join(tmpdir(), "kai-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${root}`, `--load-extension=${root}`],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface ApiCall {
  method?: string;
  json?: unknown;
  /** Bearer token; default the node's admin token, null for none. */
  token?: string | null;
}

export interface KaiNode {
  /** `http://localhost:<port>`: where the browser goes. */
  url: string;
  /** The folder holding the node's config file (and `data/`, and the `files` it was started with). */
  dir: string;
  port: number;
  dataDir: string;
  adminToken: string;
  /** Calls the node's API (admin token unless told otherwise); throws with the body on an error status. */
  api<T = unknown>(path: string, call?: ApiCall): Promise<T>;
  /** A person who can sign in with this password and these roles. */
  createUser(username: string, password: string, roles: string[]): Promise<void>;
  /** The node's stderr so far (for a failing test's message). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** Extra config YAML lines (top level). */
  config?: string[];
  /**
   * Files written before the node starts, by path relative to the folder holding its config file: `agents/<kClass>.<name>.yaml`
   * is an agent's overrides file (the `agents/` folder beside the user file), `data/plugins/<id>/…` a plugin folder.
   */
  files?: Record<string, string>;
}

/**
 * Lines of config every browser-test node gets: the rate limits on (as in production) but high enough for a
 * test's sign-ins and reloads, cheap password hashing and vault keys (the tests sign in many times), quiet logs.
 */
const TEST_CONFIG = [
  "logging:",
  "  level: warn",
  "rateLimit:",
  "  enabled: true",
  ...["global", "auth", "read", "write", "gateway"].map((bucket) => `  ${bucket}: { max: 1000000, windowSeconds: 60 }`),
  "auth:",
  "  signIn:",
  "    password: { memoryKiB: 1024, iterations: 1, parallelism: 1 }",
  "vault:",
  "  pbkdf2Iterations: 10000",
];

/**
 * Waits until a starting node answers `/healthz` and has written its admin token: true then, false when the process
 * exited first; throws after 30 s.
 */
async function untilAnswering(child: ChildProcess, port: number, dataDir: string, stderr: () => string): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      // Its last words (why it exited) may still be on their way.
      const out = child.stderr;
      if (out && !out.destroyed) await new Promise((done) => out.once("close", done));
      return false;
    }
    if (Date.now() > deadline) throw new Error(`kai serve did not answer within 30 s: ${stderr()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok && existsSync(join(dataDir, "admin.token"))) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
}

/** Starts the built node (`kai serve`) serving the built app; resolves once it answers. Stop it in afterAll. */
export async function startNode(options: StartNodeOptions = {}): Promise<KaiNode> {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), "kai-browser-"));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "config.yaml");
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(configPath, [...TEST_CONFIG, "web:", `  root: ${JSON.stringify(WEB_ROOT)}`, ...(options.config ?? []), ""].join("\n"));
  // The port is chosen before the node binds it (the browser's URL must be known), so another test file may take it
  // in between: a node that exits with EADDRINUSE is started again on another port (twice at most).
  let port = 0;
  let child: ChildProcess | undefined;
  let stderr = "";
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const running = child;
      const gone = new Promise((done) => running.once("exit", done));
      running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      stderr = "";
      const started: ChildProcess = spawn(process.execPath, [CLI_MAIN, "serve", "--quiet", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--config", configPath], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, KAI_LOG_LEVEL: "warn" },
      });
      child = started;
      started.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-20_000);
      });
      const answered = await untilAnswering(started, port, dataDir, () => stderr);
      if (answered) break;
      if (attempt === 3 || !/EADDRINUSE/.test(stderr)) throw new Error(`kai serve exited with ${started.exitCode}: ${stderr}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `http://localhost:${port}`;
  const adminToken = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  const api = async <T>(path: string, call: ApiCall = {}): Promise<T> => {
    const token = call.token === undefined ? adminToken : call.token;
    const method = call.method ?? (call.json === undefined ? "GET" : "POST");
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(call.json !== undefined ? { "content-type": "application/json" } : {}) },
      ...(call.json !== undefined ? { body: JSON.stringify(call.json) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text.slice(0, 300)}`);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  };
  return {
    url,
    dir,
    port,
    dataDir,
    adminToken,
    api,
    async createUser(username, password, roles) {
      await api("/api/users", { json: { username, password, roles } });
    },
    stderr: () => stderr,
    stop,
  };
}

/** A minimal valid service registration (the fields `kai register` sends). */
export function serviceRecord(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: id,
    type: "service",
    provider: "openai-compatible",
    capabilities: ["llm_chat"],
    url: `http://127.0.0.1:9/${id}`,
    protocol: "http",
    visibility: "public",
    ...overrides,
  };
}
