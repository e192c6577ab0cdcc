/**
 * `kai vault …` end to end: the built CLI against a real server. Values and passphrases go in on stdin,
 * never on argv; `get` prints the value and nothing else; errors map to the documented exit codes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const PASSPHRASE = "a cli test passphrase";
let server: TestServer;
let box: Sandbox;

const kai = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken, ...env }, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false }, vault: { pbkdf2Iterations: 10_000 } });
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai vault", () => {
  it("shows the status", async () => {
    const human = await kai(["vault", "status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^initialized:\s+true$/m);
    expect(human.stdout).toMatch(/^locked:\s+false$/m);
    const json = await kai(["vault", "status", "--json"]);
    // No secret stored yet: the server's own node key (`#system/node-key`) is not counted, as it is not listed.
    expect(JSON.parse(json.stdout)).toMatchObject({ initialized: true, locked: false, autoUnlock: true, secrets: 0 });
    expect(human.stdout).toMatch(/^secrets:\s+0$/m);
  });

  it("sets a secret from stdin, gets exactly the value on stdout, lists without values, removes it", async () => {
    const set = await kai(["vault", "set", "openai/prod"], "sk-from-stdin\n");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe("");
    expect(set.stderr).toContain("stored openai/prod (version 1)");

    const get = await kai(["vault", "get", "openai/prod"]);
    expect(get.code).toBe(0);
    expect(get.stdout).toBe("sk-from-stdin");
    expect(get.stderr).toBe("");
    const json = await kai(["vault", "get", "openai/prod", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "openai/prod", value: "sk-from-stdin", version: 1 });

    const list = await kai(["vault", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^NAME\s+VERSION\s+UPDATED\s+BY\s+LAST USED\s+EXPIRES$/);
    expect(list.stdout).toContain("openai/prod");
    expect(list.stdout).not.toContain("sk-from-stdin");

    const rm = await kai(["vault", "rm", "openai/prod"]);
    expect(rm.code).toBe(0);
    const gone = await kai(["vault", "get", "openai/prod"]);
    expect(gone.code).toBe(3);
    expect(gone.stdout).toBe("");
  });

  it("refuses an empty value, a bad name and a bad expiry locally (exit 2), and a missing scope (exit 4)", async () => {
    expect((await kai(["vault", "set", "empty/value"], "")).code).toBe(2);
    expect((await kai(["vault", "set", "bad name"], "x")).code).toBe(2);
    expect((await kai(["vault", "set", "ok/name", "--expires-at", "tomorrow"], "x")).code).toBe(2);
    const token = (await kai(["token", "create", "--scope", "vault:read", "--ttl", "1h"])).stdout.trim();
    const refused = await kai(["vault", "set", "ok/name"], "x", { KAI_TOKEN: token });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("(forbidden)");
  });

  it("unlocks a key-file vault again after a lock without asking for a passphrase", async () => {
    expect((await kai(["vault", "set", "keyfile/kept"], "kept-through-lock")).code).toBe(0);
    expect((await kai(["vault", "lock"])).code).toBe(0);
    expect((await kai(["vault", "get", "keyfile/kept"])).code).toBe(7);
    // No stdin at all: nothing is read, the server opens the vault from its key file.
    const unlock = await kai(["vault", "unlock"]);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(unlock.stderr).toContain("vault unlocked from its key file");
    expect((await kai(["vault", "get", "keyfile/kept"])).stdout).toBe("kept-through-lock");
  });

  it("rotates, re-keys with a passphrase from stdin, locks, refuses a wrong passphrase and unlocks", async () => {
    expect((await kai(["vault", "set", "kept/one"], "kept-value")).code).toBe(0);
    const rotate = await kai(["vault", "rotate", "--json"]);
    expect(rotate.code).toBe(0);
    expect(JSON.parse(rotate.stdout)).toMatchObject({ keyVersion: 2 });

    const rekey = await kai(["vault", "rekey"], `${PASSPHRASE}\n`);
    expect(rekey.code, rekey.stderr).toBe(0);
    expect((JSON.parse((await kai(["vault", "status", "--json"])).stdout) as { autoUnlock: boolean }).autoUnlock).toBe(false);

    expect((await kai(["vault", "lock"])).code).toBe(0);
    const locked = await kai(["vault", "get", "kept/one"]);
    expect(locked.code).toBe(7);
    expect(locked.stderr).toContain("(vault_locked)");

    const wrong = await kai(["vault", "unlock"], "not the passphrase\n");
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain("(invalid_passphrase)");
    expect(wrong.stderr).not.toContain("not the passphrase");

    const unlock = await kai(["vault", "unlock"], `${PASSPHRASE}\n`);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(unlock.stderr).toContain("vault unlocked");
    expect((await kai(["vault", "get", "kept/one"])).stdout).toBe("kept-value");
  });

  it("lists the audit log and verifies its chain", async () => {
    const audit = await kai(["vault", "audit", "--limit", "500"]);
    expect(audit.code).toBe(0);
    expect(audit.stdout.split("\n")[0]).toMatch(/^SEQ\s+AT\s+ACTOR\s+OPERATION\s+SECRET\s+OUTCOME\s+REASON$/);
    expect(audit.stdout).toContain("denied");
    expect(audit.stdout).not.toContain("kept/one");
    const denied = JSON.parse((await kai(["vault", "audit", "--outcome", "denied", "--json"])).stdout) as { entries: { outcome: string }[] };
    expect(denied.entries.length).toBeGreaterThan(0);
    expect(denied.entries.every((entry) => entry.outcome === "denied")).toBe(true);

    // --limit n shows the newest n (each read is itself audited, first), oldest of them first; --after pages from the start.
    type Entries = { entries: { seq: number; operation: string }[] };
    const all = (JSON.parse((await kai(["vault", "audit", "--limit", "1000", "--json"])).stdout) as Entries).entries;
    const newest = all.at(-1)!.seq + 1;
    expect(all.length).toBeGreaterThan(10);
    const five = (JSON.parse((await kai(["vault", "audit", "--limit", "5", "--json"])).stdout) as Entries).entries;
    expect(five.map((entry) => entry.seq)).toEqual([newest - 4, newest - 3, newest - 2, newest - 1, newest]);
    expect(five.at(-1)!.operation).toBe("audit.read");
    const tail = await kai(["vault", "audit", "--limit", "5"]);
    expect(tail.stdout.trimEnd().split("\n").at(-1)).toMatch(new RegExp(`^${newest + 1}\\s`));
    const first = (JSON.parse((await kai(["vault", "audit", "--after", "0", "--limit", "2", "--json"])).stdout) as Entries).entries;
    expect(first.map((entry) => entry.seq)).toEqual([1, 2]);

    const verify = await kai(["vault", "audit", "verify"]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^ok: \d+ entries, chain intact$/m);
    expect((await kai(["vault", "audit", "check"])).code).toBe(2);
  });
});

describe("kai services apply with token_env", () => {
  it("sends a set variable's value to the vault and keeps only the reference; an unset one stays env: with a warning", async () => {
    const manifest = join(box.dir, "vaulted.yaml");
    writeFileSync(
      manifest,
      `services:
  - id: vaulted
    name: Vaulted
    endpoint: https://api.example.com/v1
    auth:
      type: bearer_token
      token_env: KAI_TEST_VAULTED_KEY
  - id: unvaulted
    name: Unvaulted
    endpoint: https://api.example.com/v1
    auth:
      type: bearer_token
      token_env: KAI_TEST_UNSET_KEY
`,
    );
    const applied = await kai(["services", "apply", "-f", manifest], undefined, { KAI_TEST_VAULTED_KEY: "sk-from-the-environment" });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain("warning: unvaulted: KAI_TEST_UNSET_KEY is not set");
    expect(applied.stdout + applied.stderr).not.toContain("sk-from-the-environment");

    const vaulted = JSON.parse((await kai(["services", "get", "vaulted", "--json"])).stdout) as { auth: unknown };
    expect(vaulted.auth).toEqual({ type: "bearer_token", credentialRef: "vault:services/vaulted/credential" });
    const unvaulted = JSON.parse((await kai(["services", "get", "unvaulted", "--json"])).stdout) as { auth: unknown };
    expect(unvaulted.auth).toEqual({ type: "bearer_token", credentialRef: "env:KAI_TEST_UNSET_KEY" });
    expect((await kai(["vault", "get", "services/vaulted/credential"])).stdout).toBe("sk-from-the-environment");
  });
});
