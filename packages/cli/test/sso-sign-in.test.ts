/**
 * `kai login --sso` with the built CLI, end to end against a real OpenID provider (oidc-provider, the server's SSO
 * test helper) and a real kai server configured with it (client secret in the vault). The CLI prints the start
 * address; the test is the browser: it follows the redirects through the provider's login and consent pages and
 * the kai callback to the CLI's loopback address, whose page says how it went. What users rely on: the session is
 * kept as a password sign-in's (0600 file, `kai whoami` is the SSO user, later commands work), nothing secret is
 * printed, and every way it can fail (no answer, a refusal, a forged code, an unknown or unnamed provider among
 * several) ends with exit 4, 3 or 2 and nothing stored. On a terminal (util-linux `script`) the CLI opens the address
 * with the platform's opener (a stand-in `xdg-open` on the PATH that records it), and never with `--no-browser`.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { authorizeAtProvider, reserveOidcProvider, TestBrowser, type PendingOidcProvider, type TestOidcProvider } from "../../server/test/helpers/oidc-provider.js";
import { CLI, resultOf, runKai, sandbox, spawnKai, startTestServer, waitForOutput, type KaiResult, type Sandbox, type TestServer } from "./helpers.js";

const SECRET_NAME = "sso/corp-client";
const hasScript = spawnSync("script", ["--version"]).status === 0;
if (!hasScript) {
  const message = "sso-sign-in.test.ts: no `script` command (util-linux) to give the CLI a terminal; install util-linux";
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`${message} (the terminal cases are skipped)`);
}
let reserved: PendingOidcProvider | undefined;
let op: TestOidcProvider;
let server: TestServer;
const boxes: Sandbox[] = [];

beforeAll(async () => {
  // The issuer is named in kai's config before the provider starts (the provider needs kai's callback URL); its port
  // is held from the start.
  reserved = await reserveOidcProvider();
  const issuer = reserved.issuer;
  const provider = (id: string, displayName: string) => ({
    id,
    displayName,
    issuer,
    clientId: "kai-test",
    clientSecret: { vault: SECRET_NAME },
    claims: { roles: "groups" },
    roleMap: { "kai-devs": ["developer"] },
    defaultRoles: ["viewer"],
  });
  server = await startTestServer({
    rateLimit: { enabled: false },
    auth: { sso: { providers: [provider("corp", "Corp account"), provider("partner", "Partner account")] } },
  });
  op = reserved.start({
    clientId: "kai-test",
    redirectUris: [`${server.url}/api/auth/sso/corp/callback`, `${server.url}/api/auth/sso/partner/callback`],
    accounts: { "u-ada": { preferred_username: "ada", name: "Ada Lovelace", groups: ["kai-devs"] } },
  });
  await createClient({ url: server.url, token: server.adminToken }).vault.putSecret(SECRET_NAME, op.clientSecret);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reserved?.close();
  for (const box of boxes) box.cleanup();
});

function newBox(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  return box;
}

const loginFile = (box: Sandbox) => join(box.env.KAI_CONFIG_DIR!, "cli.json");
const kai = (box: Sandbox, args: string[]): Promise<KaiResult> => runKai(["--url", server.url, ...args], { cwd: box.dir, env: box.env });

/** Starts `kai login …` and resolves with the start address it printed, and its result once it ends. */
async function startLogin(box: Sandbox, args: string[]): Promise<{ startUrl: string; result: Promise<KaiResult> }> {
  const child = spawnKai(["--url", server.url, "login", ...args], { cwd: box.dir, env: box.env });
  const result = resultOf(child);
  child.stdin.end();
  const seen = await waitForOutput(child.stderr, /\/start\?\S+\n/);
  const startUrl = /(http:\/\/\S+\/start\?\S+)/.exec(seen)?.[1];
  expect(startUrl).toBeDefined();
  return { startUrl: startUrl!, result };
}

/** The browser's way from the start address through the provider and kai's callback: the loopback address with the code. */
async function loopbackAddress(browser: TestBrowser, startUrl: string, login: string): Promise<URL> {
  const started = await browser.request(startUrl);
  expect(started.status, await started.clone().text()).toBe(302);
  const callback = await authorizeAtProvider(browser, started.headers.get("location") ?? "", login);
  expect(callback.startsWith(`${server.url}/api/auth/sso/`)).toBe(true);
  const back = await browser.request(callback);
  expect(back.status, await back.clone().text()).toBe(302);
  return new URL(back.headers.get("location") ?? "");
}

describe("kai login --sso", () => {
  it("signs in through the browser: the loopback page confirms, the session is kept 0600, whoami is the SSO user", async () => {
    const box = newBox();
    const { startUrl, result } = await startLogin(box, ["--sso", "corp", "--no-browser"]);
    const start = new URL(startUrl);
    expect(`${start.origin}${start.pathname}`).toBe(`${server.url}/api/auth/sso/corp/start`);
    expect(start.searchParams.get("mode")).toBe("token");
    expect(start.searchParams.get("challenge")).toMatch(/^[\w-]{43}$/);
    const redirect = new URL(start.searchParams.get("redirect") ?? "");
    expect(redirect.hostname).toBe("127.0.0.1");

    const browser = new TestBrowser();
    const loopback = await loopbackAddress(browser, startUrl, "u-ada");
    expect(`${loopback.origin}${loopback.pathname}`).toBe(redirect.href);
    const code = loopback.searchParams.get("code") ?? "";
    expect(code).not.toBe("");
    const page = await browser.request(loopback.href);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await page.text()).toMatch(/Signed in to kai as ada\. You can close this tab/);

    const login = await result;
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain(`signed in to ${server.url} as ada`);
    expect((statSync(loginFile(box)).mode & 0o777).toString(8)).toBe("600");
    const file = JSON.parse(readFileSync(loginFile(box), "utf8")) as { url: string; session: { username: string; refreshToken: string; accessToken: string } };
    expect(file.url).toBe(server.url);
    expect(file.session.username).toBe("ada");
    // Neither the one-time code nor a token is ever printed.
    for (const secret of [code, file.session.refreshToken, file.session.accessToken]) expect(login.stdout + login.stderr).not.toContain(secret);

    const whoami = await kai(box, ["whoami", "--json"]);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ via: "session", user: { username: "ada", kind: "person", roles: ["developer", "viewer"] } });
    // The code was spent by the exchange: showing it again to the server is refused.
    const replay = await fetch(`${server.url}/api/auth/sso/exchange`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, verifier: "x".repeat(43) }) });
    expect(replay.status).toBe(401);
    // And the session works for later commands, e.g. listing its own sessions (method sso).
    const sessions = await kai(box, ["sessions", "list", "--json"]);
    expect(sessions.code, sessions.stderr).toBe(0);
    expect(sessions.stdout).toContain('"method": "sso"');
  }, 60_000);

  it("with several providers and none named, lists them and exits 2; an unknown one exits 3; nothing is stored", async () => {
    const box = newBox();
    const unnamed = await kai(box, ["login", "--sso"]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain("corp  (Corp account)");
    expect(unnamed.stderr).toContain("partner  (Partner account)");
    const unknown = await kai(box, ["login", "--sso", "nope"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("corp  (Corp account)");
    expect(existsSync(loginFile(box))).toBe(false);
  });

  it("a code the server never issued: the page and the CLI say it failed (exit 4, sso_failed), nothing is stored", async () => {
    const box = newBox();
    const { startUrl, result } = await startLogin(box, ["--sso", "corp", "--no-browser"]);
    const redirect = new URL(new URL(startUrl).searchParams.get("redirect") ?? "");
    // Another program that guesses the loopback port cannot sign the CLI in with a code of its own.
    const stray = await fetch(`${redirect.href}?nothing=here`);
    expect(stray.status).toBe(400);
    const forged = await fetch(`${redirect.href}?code=forged-code`);
    expect(forged.status).toBe(401);
    expect(await forged.text()).toContain("failed (sso_failed)");
    const login = await result;
    expect(login.code).toBe(4);
    expect(login.stderr).toContain("(sso_failed)");
    expect(existsSync(loginFile(box))).toBe(false);
  }, 30_000);

  it("an error brought back instead of a code ends the sign-in (exit 4)", async () => {
    const box = newBox();
    const { startUrl, result } = await startLogin(box, ["--sso", "corp", "--no-browser"]);
    const redirect = new URL(startUrl).searchParams.get("redirect") ?? "";
    const refused = await fetch(`${redirect}?error=access_denied`);
    expect(refused.status).toBe(401);
    const login = await result;
    expect(login.code).toBe(4);
    expect(login.stderr).toContain("cancelled or refused (sso_failed)");
    expect(existsSync(loginFile(box))).toBe(false);
  }, 30_000);

  it("gives up when the browser does not come back in time (exit 4) and stops listening", async () => {
    const box = newBox();
    const { startUrl, result } = await startLogin(box, ["--sso", "corp", "--no-browser", "--timeout", "1"]);
    const login = await result;
    expect(login.code).toBe(4);
    expect(login.stderr).toContain("no answer from the browser within 1 s");
    expect(existsSync(loginFile(box))).toBe(false);
    await expect(fetch(new URL(startUrl).searchParams.get("redirect") ?? "")).rejects.toThrow();
  }, 30_000);

  it("--sso does not mix with a password or a token (exit 2)", async () => {
    const box = newBox();
    expect((await kai(box, ["login", "--sso", "corp", "--username", "ada"])).code).toBe(2);
    expect((await kai(box, ["login", "--no-browser", "--username", "ada", "--password-stdin"])).code).toBe(2);
  });

  describe.skipIf(!hasScript)("on a terminal (util-linux script)", () => {
    /** A stand-in `xdg-open` that writes the URL it was given to a file, and the environment that finds it. */
    function withOpener(box: Sandbox): { env: NodeJS.ProcessEnv; opened: string } {
      const bin = join(box.dir, "bin");
      const opened = join(box.dir, "opened.txt");
      mkdirSync(bin);
      writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$1" > '${opened}'\n`);
      chmodSync(join(bin, "xdg-open"), 0o755);
      return { env: { ...box.env, PATH: `${bin}${delimiter}${box.env.PATH ?? ""}`, DISPLAY: ":0" }, opened };
    }

    function inTerminal(box: Sandbox, env: NodeJS.ProcessEnv, args: string[]): { output(): string; result: Promise<number | null> } {
      const command = ["node", CLI, "--url", server.url, "login", ...args].map((word) => `'${word}'`).join(" ");
      const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: box.dir, env, stdio: "pipe" });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      return { output: () => output, result: new Promise((resolve) => child.on("close", (code) => resolve(code))) };
    }

    async function until<T>(probe: () => T | undefined): Promise<T> {
      for (let attempt = 0; attempt < 200; attempt++) {
        const value = probe();
        if (value !== undefined) return value;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("waited 10 s in vain");
    }

    it("opens the address in the browser and signs in", async () => {
      const box = newBox();
      const { env, opened } = withOpener(box);
      const run = inTerminal(box, env, ["--sso", "corp"]);
      const startUrl = await until(() => (existsSync(opened) ? readFileSync(opened, "utf8").trim() || undefined : undefined));
      // The address is printed too; the terminal's output may reach us after the browser was opened (CI caught that race).
      await until(() => (run.output().includes(startUrl) ? true : undefined));
      const loopback = await loopbackAddress(new TestBrowser(), startUrl, "u-ada");
      expect((await fetch(loopback)).status).toBe(200);
      expect(await run.result, run.output()).toBe(0);
      expect(JSON.parse(readFileSync(loginFile(box), "utf8"))).toMatchObject({ session: { username: "ada" } });
    }, 60_000);

    it("--no-browser only prints the address", async () => {
      const box = newBox();
      const { env, opened } = withOpener(box);
      const run = inTerminal(box, env, ["--sso", "corp", "--no-browser", "--timeout", "2"]);
      await until(() => (/\/start\?\S+/.test(run.output()) ? true : undefined));
      expect(await run.result).toBe(4);
      expect(existsSync(opened)).toBe(false);
    }, 30_000);
  });
});
