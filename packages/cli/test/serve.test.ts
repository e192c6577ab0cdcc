/**
 * `kai serve` end to end: the real binary starts a server on a port we chose, writes the admin token
 * with mode 0600, answers /healthz, serves other `kai` commands, and stops with exit 0 on SIGTERM.
 * `npm start` as a supervisor runs it: its banner's suggested command works as printed, and a SIGTERM
 * to the npm process stops the server (npm's shell used to die alone and leave node serving).
 * Bound to every interface (`--host 0.0.0.0`), its URLs name an address a client connects to, on TLS one the
 * certificate covers; on a certificate from a CA it has no file of, it names the CA and the try command has a
 * placeholder for its file, which filled in works.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { HAS_OPENSSL, makeTestCa, type TestCa } from "../../server/test/helpers/test-certificates.js";
import { CLI, exitOf, freePort, resultOf, sandbox, spawnKai, runKai, waitForOutput, type KaiResult } from "./helpers.js";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** The command the banner suggests (the text after `try:`). */
function suggestedCommand(banner: string): string {
  const command = /^\s*try:\s+(.+)$/m.exec(banner)?.[1]?.trim();
  if (!command) throw new Error(`no suggested command in the banner: ${banner}`);
  return command;
}

/** Runs a command line exactly as printed, through the shell, as a user would paste it. */
function runShell(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<KaiResult> {
  return resultOf(spawn("/bin/sh", ["-c", command], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] }));
}

const box = sandbox();
const dataDir = mkdtempSync(join(tmpdir(), "kai-serve-test-"));

/**
 * `kai serve args…` from the sandbox until its banner's `try:` line, then `check(banner)`; stopped with SIGTERM after
 * (exit 0). Each start gets its own data directory, under the sandbox.
 */
async function withServe(name: string, args: string[], check: (banner: string) => Promise<void>): Promise<void> {
  const child = spawnKai(["serve", "--port", "0", "--data-dir", name, "--quiet", ...args], { cwd: box.dir, env: box.env });
  try {
    await check(await waitForOutput(child.stderr, /try: .+\n/, 15_000));
    child.kill("SIGTERM");
    expect(await exitOf(child)).toBe(0);
  } finally {
    child.kill("SIGKILL");
  }
}

/** A test CA in the sandbox (`tls/`), made once for the TLS tests. */
let testCa: TestCa | undefined;
const tlsCa = (): TestCa => (testCa ??= makeTestCa(mkdtempSync(join(box.dir, "tls-"))));

afterAll(() => {
  box.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("kai serve", () => {
  it("starts, prints where things are, serves requests and shuts down cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawnKai(["serve", "--port", String(port), "--data-dir", dataDir, "--quiet"], { cwd: box.dir, env: box.env });
    try {
      const banner = await waitForOutput(child.stderr, /admin token: .+\n/, 15_000);
      const url = `http://127.0.0.1:${port}`;
      expect(banner).toContain(`listening on ${url}`);
      expect(banner).toContain(`${url}/docs`);
      const tokenPath = join(dataDir, "admin.token");
      expect(banner).toContain(tokenPath);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      expect(statSync(tokenPath).mode & 0o777).toBe(0o600);

      // The default token lookup: KAI_DATA_DIR/admin.token, as after `npm start`.
      const status = await runKai(["status", "--url", url], { cwd: box.dir, env: { ...box.env, KAI_DATA_DIR: dataDir } });
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/^server:\s+http:\/\/127\.0\.0\.1:\d+$/m);
      const json = await runKai(["status", "--url", url, "--json"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: readFileSync(tokenPath, "utf8").trim() } });
      expect(JSON.parse(json.stdout)).toMatchObject({ registry: { services: 0 } });

      // The banner's suggestion works as printed from where the server was started (no `kai` on the PATH here).
      const suggested = suggestedCommand(banner);
      expect(suggested).toContain(`node ${CLI}`);
      const tried = await runShell(suggested, { cwd: box.dir, env: box.env });
      expect(tried.stderr).toBe("");
      expect(tried.code).toBe(0);
      expect(tried.stdout).toMatch(/^server:\s+http:\/\/127\.0\.0\.1:\d+$/m);

      // A second node on the same data directory is refused before it touches the database (exit 5), and so is one
      // on the same port; the first goes on serving.
      const sameData = await runKai(["serve", "--port", "0", "--data-dir", dataDir, "--quiet"], { cwd: box.dir, env: box.env });
      expect(sameData.code).toBe(5);
      expect(sameData.stderr).toContain(`${join(dataDir, "kai.db")} is in use by another kai node`);
      const otherData = mkdtempSync(join(tmpdir(), "kai-serve-port-"));
      try {
        const samePort = await runKai(["serve", "--port", String(port), "--data-dir", otherData, "--quiet"], { cwd: box.dir, env: box.env });
        expect(samePort.code).toBe(5);
        expect(samePort.stderr).toContain(`127.0.0.1:${port} is in use by another process`);
      } finally {
        rmSync(otherData, { recursive: true, force: true });
      }
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  // /dev/full (Linux) refuses every write with ENOSPC: stdout on a full disk without filling one. Skipped elsewhere.
  it.skipIf(!existsSync("/dev/full"))("with its stdout on a full disk (/dev/full): starts, serves, says so once on stderr, and stops on SIGTERM", async () => {
    const port = await freePort();
    const fullDataDir = mkdtempSync(join(tmpdir(), "kai-serve-full-"));
    const full = openSync("/dev/full", "w");
    // Not --quiet: every log line goes to stdout too. Before, pino's exit handler retried the failed write forever and
    // the node hung at start (at 44 % CPU), never listening.
    const child = spawn(process.execPath, [CLI, "serve", "--port", String(port), "--data-dir", fullDataDir], { cwd: box.dir, env: box.env, stdio: ["ignore", full, "pipe"] });
    try {
      const banner = await waitForOutput(child.stderr!, /admin token: .+\n/, 15_000);
      expect(banner).toContain("cannot write stdout (ENOSPC)");
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 5; i++) expect((await fetch(`${url}/api/services`)).status).toBe(401);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      child.kill("SIGTERM");
      expect(await exitOf(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
      closeSync(full);
      rmSync(fullDataDir, { recursive: true, force: true });
    }
  });

  it("under `npm start`: suggests `npm run kai -- status`, which works from the repository root, and stops when npm gets SIGTERM", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const npmDataDir = mkdtempSync(join(tmpdir(), "kai-npm-start-test-"));
    // --ignore-scripts skips `prestart` (the build; this test runs against the built CLI like the others) but
    // still runs `start` itself. Its own process group, so that a failing test can take npm and node down together.
    const npm = spawn("npm", ["start", "--ignore-scripts", "--", "--port", String(port), "--data-dir", npmDataDir, "--quiet"], {
      cwd: REPO_ROOT,
      env: box.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stderr = "";
    npm.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const banner = await waitForOutput(npm.stderr, /try: .+\n/, 20_000);
      const suggested = suggestedCommand(banner);
      expect(suggested).toBe(`KAI_URL=${url} KAI_DATA_DIR=${npmDataDir} npm run kai -- status`);
      const tried = await runShell(suggested, { cwd: REPO_ROOT, env: box.env });
      expect(tried.code, tried.stderr).toBe(0);
      expect(tried.stdout).toContain(url);

      // What a supervisor does: SIGTERM to the process it started, npm, and to nothing else.
      process.kill(npm.pid!, "SIGTERM");
      await new Promise((resolve) => (npm.exitCode !== null || npm.signalCode !== null ? resolve(undefined) : npm.once("exit", resolve)));
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      expect(stderr).toContain("SIGTERM: finishing in-flight requests");
      expect(stderr).toContain("stopped cleanly");
    } finally {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // Already gone, as it should be.
      }
      rmSync(npmDataDir, { recursive: true, force: true });
    }
  });

  it("with its vault locked and no admin token (a restore started without the vault's passphrase): says so and how to unlock, no token path nor `try:`", async () => {
    const lockedDataDir = mkdtempSync(join(tmpdir(), "kai-serve-locked-"));
    const env = { ...box.env, KAI_VAULT_PASSPHRASE: "the vault passphrase of the locked test" };
    try {
      const first = spawnKai(["serve", "--port", "0", "--data-dir", lockedDataDir, "--quiet"], { cwd: box.dir, env });
      try {
        const firstBanner = await waitForOutput(first.stderr, /try: .+\n/, 15_000);
        // Serving, not only printed: a SIGTERM in the very instant after the banner is not what this test is about.
        expect((await fetch(`${/listening on (\S+)/.exec(firstBanner)![1]}/healthz`)).status).toBe(200);
        first.kill("SIGTERM");
        expect(await exitOf(first)).toBe(0);
      } finally {
        first.kill("SIGKILL");
      }
      // As on a restored node: no admin token file, and the vault's passphrase not given.
      rmSync(join(lockedDataDir, "admin.token"));
      const { KAI_VAULT_PASSPHRASE: _passphrase, ...withoutPassphrase } = env;
      const locked = spawnKai(["serve", "--port", "0", "--data-dir", lockedDataDir, "--quiet"], { cwd: box.dir, env: withoutPassphrase });
      try {
        const banner = await waitForOutput(locked.stderr, /unlock: .+\n/, 15_000);
        expect(banner).toContain("  admin token: none: the vault is locked (the node key is sealed in it), so no token could be minted\n");
        expect(banner).toContain(`  unlock:      restart with the vault's passphrase in KAI_VAULT_PASSPHRASE (a vault on the key file: with its vault.key in ${join(lockedDataDir, "vault.key")}), or kai vault unlock with a token of this node minted earlier\n`);
        expect(banner).not.toContain(join(lockedDataDir, "admin.token"));
        expect(banner).not.toMatch(/^\s*try:/m);
        expect(existsSync(join(lockedDataDir, "admin.token"))).toBe(false);
        expect((await fetch(`${/listening on (\S+)/.exec(banner)![1]}/healthz`)).status).toBe(200);
        locked.kill("SIGTERM");
        expect(await exitOf(locked)).toBe(0);
      } finally {
        locked.kill("SIGKILL");
      }
    } finally {
      rmSync(lockedDataDir, { recursive: true, force: true });
    }
  });

  it("bound to every interface (--host 0.0.0.0) on plain HTTP: names http://127.0.0.1, and its try: command works as printed", async () => {
    await withServe("wildcard-http", ["--host", "0.0.0.0"], async (banner) => {
      expect(banner).toMatch(/^kai server listening on http:\/\/127\.0\.0\.1:\d+ \(bound to 0\.0\.0\.0: every interface\)$/m);
      expect(banner).not.toMatch(/0\.0\.0\.0:\d/);
      const tried = await runShell(suggestedCommand(banner), { cwd: box.dir, env: box.env });
      expect(tried.code, tried.stderr).toBe(0);
      expect(tried.stdout).toMatch(/^server:\s+http:\/\/127\.0\.0\.1:\d+$/m);
    });
  });

  it.skipIf(!HAS_OPENSSL)("bound to every interface on TLS: names a host its certificate lists (localhost), and its try: command works as printed", async () => {
    const ca = tlsCa();
    // Self-signed, made for `localhost` only: 127.0.0.1 would fail its name check, as 0.0.0.0 did.
    ca.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=kai self-signed", "-addext", "subjectAltName=DNS:localhost");
    await withServe("wildcard-tls", ["--host", "0.0.0.0", "--tls-cert", ca.file("self.pem"), "--tls-key", ca.file("self.key")], async (banner) => {
      expect(banner).toMatch(/^kai server listening on https:\/\/localhost:\d+ \(bound to 0\.0\.0\.0: every interface\)$/m);
      expect(banner).toMatch(/^ {2}API docs: +https:\/\/localhost:\d+\/docs$/m);
      expect(banner).not.toMatch(/0\.0\.0\.0:\d/);
      const suggested = suggestedCommand(banner);
      expect(suggested).toMatch(/^KAI_URL=https:\/\/localhost:\d+ KAI_CA_FILE=\S+\/self\.pem /);
      const tried = await runShell(suggested, { cwd: box.dir, env: box.env });
      expect(tried.code, tried.stderr).toBe(0);
      expect(tried.stdout).toMatch(/^server:\s+https:\/\/localhost:\d+$/m);
    });
  });

  it.skipIf(!HAS_OPENSSL)("on a certificate from a private CA it has no file of: names the CA, and its try: command takes the CA's file in place of a placeholder", async () => {
    const ca = tlsCa();
    ca.issue("node", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    await withServe("private-ca", ["--tls-cert", ca.file("node.pem"), "--tls-key", ca.file("node.key")], async (banner) => {
      const certFile = /tls-\w+\/node\.pem/.exec(ca.file("node.pem"))![0];
      expect(banner).toContain(`  TLS:         the certificate is signed by "CN=kai test CA", which clients do not trust by themselves: give them that CA's certificate (KAI_CA_FILE or --ca-file; the SDK's nodeTls)`);
      const suggested = suggestedCommand(banner);
      const placeholder = `'<the CA that signed ${certFile}>'`;
      expect(suggested).toMatch(/^KAI_URL=https:\/\/127\.0\.0\.1:\d+ /);
      expect(suggested).toContain(`KAI_CA_FILE=${placeholder} `);
      // As printed, it names what to fill in (a usage error), not a certificate this client does not trust (exit 7).
      const asPrinted = await runShell(suggested, { cwd: box.dir, env: box.env });
      expect(asPrinted.code).toBe(2);
      expect(asPrinted.stderr).toContain(`--ca-file: <the CA that signed ${certFile}> cannot be read`);
      // With the CA's file in its place, it works.
      const filled = await runShell(suggested.replace(placeholder, ca.file("ca.pem")), { cwd: box.dir, env: box.env });
      expect(filled.code, filled.stderr).toBe(0);
      expect(filled.stdout).toMatch(/^server:\s+https:\/\/127\.0\.0\.1:\d+$/m);
    });
  });

  it("refuses a bad port with a usage error (exit 2)", async () => {
    const result = await runKai(["serve", "--port", "70000"], { cwd: box.dir, env: box.env });
    expect(result.code).toBe(2);
  });

  it("refuses a config file with a misspelt key (exit 2), one line per problem with the key it likely meant", async () => {
    const config = join(box.dir, "misspelt.yaml");
    writeFileSync(config, "tracing:\n  otlp: http://collector:4318\nserver:\n  prot: 8080\n");
    const result = await runKai(["serve", "--port", "0", "--data-dir", join(box.dir, "misspelt-data"), "--config", config], { cwd: box.dir, env: box.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: invalid configuration in the user layer (${config}) (usage)\n`);
    expect(result.stderr).toContain("\n  - tracing.otlp: unknown setting (did you mean tracing.otlpEndpoint?)\n");
    expect(result.stderr).toContain("\n  - server.prot: unknown setting (did you mean server.port?)\n");
  });

  it("names where a rule between settings was broken: the flag's command line, or the file", async () => {
    const byFlag = await runKai(["serve", "--port", "0", "--data-dir", join(box.dir, "half-tls-data"), "--tls-cert", join(box.dir, "cert.pem")], { cwd: box.dir, env: box.env });
    expect(byFlag.code).toBe(2);
    expect(byFlag.stderr).toContain("\n  - server.tls.keyFile: server.tls needs certFile and keyFile together (from the cli layer, command line)\n");
    const config = join(box.dir, "half-tls.yaml");
    writeFileSync(config, `server:\n  tls:\n    certFile: ${join(box.dir, "cert.pem")}\n`);
    const byFile = await runKai(["serve", "--port", "0", "--data-dir", join(box.dir, "half-tls-data"), "--config", config], { cwd: box.dir, env: box.env });
    expect(byFile.code).toBe(2);
    expect(byFile.stderr).toContain(`\n  - server.tls.keyFile: server.tls needs certFile and keyFile together (from the user layer, ${config})\n`);
  });
});
