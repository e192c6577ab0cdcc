/**
 * `kai agent add-mcp <id> --command …` and `rm-mcp` with the built CLI against a real node: the MCP server is the
 * stdio test server built with the official MCP SDK (the server tests' own); its tools are listed as capabilities
 * and removal takes the record away. `--endpoint` (not `--url`, every command's node URL) names a URL server: one
 * that does not answer exits 7 with the error's code.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const STDIO_SERVER = fileURLToPath(new URL("../../server/test/agents/mcp/mcp-stdio-child.mjs", import.meta.url));
let server: TestServer;
let box: Sandbox;
const kai = (args: string[]) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken } });

beforeAll(async () => {
  server = await startTestServer();
  box = sandbox();
});
afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai agent add-mcp / rm-mcp", () => {
  it("adds a command server, whose tools become capabilities; removes it; an endpoint that does not answer exits 7", async () => {
    const added = await kai(["agent", "add-mcp", "local", "--command", `"${process.execPath}" "${STDIO_SERVER}"`]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain("added MCP server local (");
    expect(added.stderr).toContain("mcp.local.add");
    const removed = await kai(["agent", "rm-mcp", "local"]);
    expect(removed.code, removed.stderr).toBe(0);
    const unreachable = await kai(["agent", "add-mcp", "gone", "--endpoint", "http://127.0.0.1:1/mcp", "--json"]);
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toContain("mcp_server_unreachable");
    const neither = await kai(["agent", "add-mcp", "none"]);
    expect(neither.code).toBe(2);
  });
});
