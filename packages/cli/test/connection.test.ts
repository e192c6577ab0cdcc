/**
 * Which server and token a command uses: flags > environment > stored login > local defaults.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveConnection, DEFAULT_URL } from "../src/connection.js";
import { writeStoredLogin } from "../src/stored-login.js";
import { CliError } from "../src/cli-error.js";

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kai-conn-"));
  env = { KAI_CONFIG_DIR: join(dir, "config"), KAI_DATA_DIR: join(dir, "data") };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveConnection", () => {
  it("falls back to the local server and its admin token file", () => {
    expect(resolveConnection({}, env)).toEqual({ url: DEFAULT_URL, token: undefined, tokenSource: "none" });
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "data", "admin.token"), "local-admin\n");
    expect(resolveConnection({}, env)).toEqual({ url: DEFAULT_URL, token: "local-admin", tokenSource: "data-dir" });
  });

  it("prefers the stored login, then the environment, then flags", () => {
    writeStoredLogin({ url: "https://stored.example", token: "stored" }, join(dir, "config", "cli.json"));
    expect(resolveConnection({}, env)).toMatchObject({ url: "https://stored.example", token: "stored", tokenSource: "login" });
    env.KAI_TOKEN = "from-env";
    expect(resolveConnection({}, env)).toMatchObject({ url: "https://stored.example", token: "from-env" });
    env.KAI_URL = "http://env.example:1";
    expect(resolveConnection({ token: "from-flag" }, env)).toMatchObject({ url: "http://env.example:1", token: "from-flag", tokenSource: "flag" });
  });

  it("uses a stored sign-in session (its access token) for its own server only", () => {
    const session = { username: "ada", refreshToken: "r1", accessToken: "a1", accessExpiresAt: "2030-01-01T00:00:00.000Z", sessionExpiresAt: "2030-01-02T00:00:00.000Z" };
    writeStoredLogin({ url: "https://stored.example", session }, join(dir, "config", "cli.json"));
    expect(resolveConnection({}, env)).toMatchObject({ url: "https://stored.example", token: "a1", tokenSource: "session", session });
    expect(resolveConnection({ url: "https://elsewhere.example" }, env)).toMatchObject({ token: undefined, tokenSource: "none" });
    env.KAI_TOKEN = "from-env";
    expect(resolveConnection({}, env)).toMatchObject({ token: "from-env", tokenSource: "env" });
  });

  it("never sends the stored token to another server", () => {
    writeStoredLogin({ url: "https://stored.example", token: "stored" }, join(dir, "config", "cli.json"));
    expect(resolveConnection({ url: "https://elsewhere.example" }, env)).toMatchObject({ token: undefined, tokenSource: "none" });
  });

  it("refuses a broken login file and a URL that is not http(s)", () => {
    mkdirSync(join(dir, "config"), { recursive: true });
    writeFileSync(join(dir, "config", "cli.json"), "{ nope");
    expect(() => resolveConnection({}, env)).toThrow(CliError);
    expect(() => resolveConnection({ url: "ftp://x", token: "t" }, env)).toThrow(/http:\/\/ or https:\/\//);
  });
});
