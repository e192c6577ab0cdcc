/**
 * What others wrote reaches the terminal without its control characters: the built CLI against a real server, a
 * service registered (as any `services:write` token may) with escape sequences and line breaks in its name and
 * description. A terminal acts on what it is sent: `ESC ] 0 ; … BEL` sets its title, `ESC [ 2 J` clears it, `ESC ] 52`
 * writes the clipboard, a carriage return rewrites the line. Tables and `key: value` lines keep one line per row and
 * field; JSON output stays exact (JSON escapes control characters itself).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

const HOSTILE_NAME = "chat\u001b]0;owned\u0007\u001b[2J\u009b31m";
const HOSTILE_DESCRIPTION = "first line\r\nstatus: fake\u001b]52;c;ZWNobyBoaQ==\u0007";
/** Any control character a terminal acts on: C0 but tab and line feed, DEL, C1. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  const response = await fetch(`${server.url}/api/services/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "hostile", name: HOSTILE_NAME, description: HOSTILE_DESCRIPTION, type: "service", capabilities: ["llm_chat"], url: "http://127.0.0.1:9/v1" }),
  });
  expect(response.status).toBe(201);
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("printing what others wrote", () => {
  it("a table shows the row without the escape sequences, on one line", async () => {
    const listed = await kai(["services", "ls"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toMatch(TERMINAL_CONTROL);
    const rows = listed.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain("chat\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m");
  });

  it("`key: value` lines keep the description on its own line, and no field can be faked by a line break", async () => {
    const shown = await kai(["services", "get", "hostile"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toMatch(TERMINAL_CONTROL);
    expect(shown.stdout.split("\n").filter((line) => line.startsWith("status:"))).toHaveLength(1);
    expect(shown.stdout).toMatch(/^description: +first line {2}status: fake\ufffd\]52;c;ZWNobyBoaQ==\ufffd$/m);
  });

  it("JSON output is exact: the name comes back as it was registered", async () => {
    const json = await kai(["services", "get", "hostile", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { name: string }).name).toBe(HOSTILE_NAME);
  });
});
