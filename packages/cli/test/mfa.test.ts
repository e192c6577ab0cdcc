/**
 * Second factors with the built CLI against a real server: a user enrols TOTP (`kai mfa totp enroll` prints the
 * otpauth URI), confirms it and gets recovery codes once; `kai login` then refuses without a code (exit 4,
 * `mfa_required`) and signs in with `--code`; recovery codes are regenerated and TOTP is disabled with a recovery
 * code as proof. Codes are computed from the printed secret with otpauth, as an authenticator app would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret, TOTP } from "otpauth";
import { runKai, sandbox, signInFirstAdmin, startTestServer, type KaiResult, type Sandbox, type TestServer } from "./helpers.js";

const PASSWORD = "mia's long enough password";
let server: TestServer;
let box: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false }, auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  box = sandbox();
  const admin = await signInFirstAdmin(server);
  await admin.users.create({ username: "mia", password: PASSWORD, roles: ["viewer"] });
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const kai = (args: string[], input?: string): Promise<KaiResult> =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: box.env, ...(input !== undefined ? { input } : {}) });

describe("kai mfa", () => {
  let totp: TOTP;
  let confirmedStep = 0;
  let recoveryCodes: string[] = [];

  it("enrols TOTP: prints the secret and otpauth URI, confirms with a code, prints recovery codes once", async () => {
    expect((await kai(["login", "--username", "mia", "--password-stdin"], `${PASSWORD}\n`)).code).toBe(0);
    expect(JSON.parse((await kai(["mfa", "status", "--json"])).stdout)).toMatchObject({ enrolled: [], totp: { confirmed: false } });

    const enrolled = await kai(["mfa", "totp", "enroll", "--json"]);
    expect(enrolled.code).toBe(0);
    const { secret, uri } = JSON.parse(enrolled.stdout) as { secret: string; uri: string };
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    totp = new TOTP({ secret: Secret.fromBase32(secret) });
    expect(JSON.parse((await kai(["mfa", "status", "--json"])).stdout)).toMatchObject({ totp: { pending: true, confirmed: false } });

    expect((await kai(["mfa", "totp", "confirm", "12345"])).code).toBe(2);
    confirmedStep = totp.counter();
    const confirmed = await kai(["mfa", "totp", "confirm", totp.generate({ timestamp: confirmedStep * 30_000 })]);
    expect(confirmed.code).toBe(0);
    recoveryCodes = confirmed.stdout.trim().split("\n");
    expect(recoveryCodes.length).toBeGreaterThanOrEqual(8);
    expect(confirmed.stderr).toContain("shown once");
    expect(JSON.parse((await kai(["mfa", "status", "--json"])).stdout)).toMatchObject({ enrolled: expect.arrayContaining(["totp"]), totp: { confirmed: true } });
  }, 60_000);

  it("kai login then needs the code: mfa_required without it (exit 4), signed in with --code", async () => {
    expect((await kai(["logout"])).code).toBe(0);
    const refused = await kai(["login", "--username", "mia", "--password-stdin"], `${PASSWORD}\n`);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("(mfa_required)");
    // The confirming code's step is spent (replay guard): the next step's code is within the allowed window.
    const code = totp.generate({ timestamp: (confirmedStep + 1) * 30_000 });
    const signedIn = await kai(["login", "--username", "mia", "--password-stdin", "--code", code], `${PASSWORD}\n`);
    expect(signedIn.code).toBe(0);
    expect(JSON.parse((await kai(["whoami", "--json"])).stdout)).toMatchObject({ user: { username: "mia" } });
  }, 60_000);

  it("regenerates recovery codes and disables TOTP with a recovery code as proof", async () => {
    const regenerated = await kai(["mfa", "recovery-codes", "--recovery-code-stdin"], `${recoveryCodes[0]}\n`);
    expect(regenerated.code).toBe(0);
    const fresh = regenerated.stdout.trim().split("\n");
    expect(fresh.length).toBeGreaterThanOrEqual(8);
    expect(fresh).not.toContain(recoveryCodes[1]);
    // The old set is gone.
    expect((await kai(["mfa", "totp", "disable", "--recovery-code-stdin"], `${recoveryCodes[1]}\n`)).code).toBe(4);
    const disabled = await kai(["mfa", "totp", "disable", "--recovery-code-stdin"], `${fresh[0]}\n`);
    expect(disabled.code).toBe(0);
    expect(JSON.parse((await kai(["mfa", "status", "--json"])).stdout)).toMatchObject({ totp: { confirmed: false } });
  }, 60_000);
});
