/**
 * `kai login` at a terminal, as a person uses it: the built CLI runs in a real pseudo-terminal (util-linux
 * `script`), the test types the answers after each prompt. Checked: username asked, password and new password not
 * echoed, the new password asked twice when the server requires a change, the authenticator code asked for when
 * a second factor is enrolled (a recovery code is accepted at the same prompt), the session stored 0600.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import { CLI, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;
if (!hasScript) {
  const message = "login-terminal.test.ts: no `script` command (util-linux) to give the CLI a terminal; install util-linux";
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`${message} (skipped)`);
}

let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  if (!hasScript) return;
  server = await startTestServer({ rateLimit: { enabled: false }, auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

/** Runs `kai args…` in a pseudo-terminal; each answer is typed once its prompt has appeared. */
function inTerminal(args: string[], answers: [RegExp, string][]): Promise<{ code: number | null; output: string }> {
  const command = ["node", CLI, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: box.dir, env: box.env, stdio: "pipe" });
  let output = "";
  let next = 0;
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const answer = answers[next];
      // Only what came after the previous answer counts, so "password: " does not match "new password: " early.
      if (answer && answer[0].test(output.slice(output.lastIndexOf("\n", output.length - 2) + 1))) {
        next += 1;
        child.stdin.write(`${answer[1]}\r`);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe.skipIf(!hasScript)("kai login at a terminal", () => {
  const NEW_PASSWORD = "a terminal-typed password";

  it("asks for username and password without echo, then a new password twice", async () => {
    const oneTime = readFileSync(join(server.dataDir, "first-admin.password"), "utf8").trim();
    const { code, output } = await inTerminal(
      ["login", "--url", server.url],
      [
        [/username: /, "admin"],
        [/^password: /, oneTime],
        [/^new password: /, NEW_PASSWORD],
        [/^new password \(again\): /, NEW_PASSWORD],
      ],
    );
    expect(output).toContain("you must choose a new password");
    expect(code, output).toBe(0);
    expect(output).toContain("signed in to");
    expect(output).not.toContain(oneTime);
    expect(output).not.toContain(NEW_PASSWORD);
    expect(statSync(join(box.env.KAI_CONFIG_DIR!, "cli.json")).mode & 0o777).toBe(0o600);
  }, 60_000);

  it("asks for the authenticator code when a second factor is enrolled, and takes a recovery code there", async () => {
    const admin = createClient({ url: server.url });
    await admin.auth.login({ username: "admin", password: NEW_PASSWORD });
    // Sam enrols TOTP through the SDK; his recovery codes are what he types at the code prompt.
    await admin.users.create({ username: "sam", password: "sam's long password" });
    const sam = createClient({ url: server.url });
    await sam.auth.login({ username: "sam", password: "sam's long password" });
    const { secret } = await sam.mfa.totp.enrol();
    const { TOTP, Secret } = await import("otpauth");
    const confirmed = await sam.mfa.totp.confirm(new TOTP({ secret: Secret.fromBase32(secret) }).generate());
    const recoveryCode = confirmed.recoveryCodes?.[0];
    expect(recoveryCode).toBeDefined();

    const { code, output } = await inTerminal(
      ["login", "--url", server.url, "--username", "sam"],
      [
        [/^password: /, "sam's long password"],
        [/code from your authenticator app/, recoveryCode!],
      ],
    );
    expect(code, output).toBe(0);
    expect(output).toContain("as sam");
    expect(output).not.toContain("sam's long password");
  }, 60_000);
});
