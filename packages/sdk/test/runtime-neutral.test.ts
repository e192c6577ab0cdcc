/**
 * The SDK must load in browsers: no top-level `node:` imports and no static import of `ws` (it is loaded
 * lazily, only when the platform has no WebSocket). Checked on the sources and on the built output. The two
 * exceptions are Node-only by design, each a separate entry that nothing else in the SDK imports (checked too): the
 * agent runtime (`@kai/sdk/agent`, `agent-runtime/`: an agent serves HTTP) and the TLS settings (`@kai/sdk/node`,
 * `node-tls/`: undici's Agent and `ws` with a CA and a client certificate).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** The Node-only entries' folders, by their `exports` key. */
const NODE_ONLY: Record<string, string> = { "./agent": "agent-runtime", "./node": "node-tls" };
const NODE_ONLY_DIRS = Object.values(NODE_ONLY);

function files(dir: string, extension: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(extension) && !name.endsWith(".test.ts") && !name.endsWith(".d.ts"))
    .filter((name) => !NODE_ONLY_DIRS.some((dir) => name.startsWith(`${dir}/`)))
    .map((name) => join(dir, name));
}

const NODE_IMPORT = /(?:from\s*|import\s*\(?\s*|require\s*\(\s*)["']node:/;
const STATIC_WS_IMPORT = /^\s*import\s[^(]*?from\s*["']ws["']/m;
const NODE_GLOBALS = /\b(?:process\.|Buffer\.|__dirname|__filename)/;

function offenders(paths: string[]): string[] {
  return paths.filter((path) => {
    const text = readFileSync(path, "utf8");
    return NODE_IMPORT.test(text) || STATIC_WS_IMPORT.test(text) || NODE_GLOBALS.test(text);
  });
}

describe("runtime neutrality", () => {
  it("the detector finds what it looks for", () => {
    expect(NODE_IMPORT.test('import { readFile } from "node:fs";')).toBe(true);
    expect(STATIC_WS_IMPORT.test('import WebSocket from "ws";')).toBe(true);
    expect(STATIC_WS_IMPORT.test('const m = await import("ws");')).toBe(false);
  });

  it("sources import nothing from node: and load ws only lazily", () => {
    const sources = files(join(packageDir, "src"), ".ts");
    expect(sources.length).toBeGreaterThan(5);
    expect(offenders(sources)).toEqual([]);
  });

  it("nothing but the package's ./agent and ./node entries reaches the Node-only folders", () => {
    const reaching = files(join(packageDir, "src"), ".ts").filter((path) => NODE_ONLY_DIRS.some((dir) => readFileSync(path, "utf8").includes(`./${dir}/`)));
    expect(reaching).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
    for (const dir of NODE_ONLY_DIRS) expect(manifest.exports["."]?.default).not.toContain(dir);
    for (const [entry, dir] of Object.entries(NODE_ONLY)) expect(manifest.exports[entry]?.default).toContain(`/${dir}/`);
  });

  it("the built dist/ imports nothing from node:", () => {
    const dist = join(packageDir, "dist");
    // `npm test` builds before running vitest; a bare `vitest run` on a fresh clone has nothing to check.
    if (!existsSync(dist)) return;
    const built = files(dist, ".js");
    expect(built.length).toBeGreaterThan(5);
    expect(offenders(built)).toEqual([]);
  });
});
