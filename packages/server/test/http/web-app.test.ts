// The web app served by the node (issue 15): `/` and deep links answer the app's page under a strict CSP, its
// hashed assets are cached for good, and nothing of the API changes: unknown API paths stay JSON 404s. A
// cookie-authenticated WebSocket must come from the node's own origin.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gunzipSync, gzipSync } from "node:zlib";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { resolveWebRoot, WEB_APP_CSP } from "../../src/http/web-app.js";

let root: string;
let server: TestServer;
const INDEX = "<!doctype html><html><head><title>kAI test build</title></head><body><div id=root></div></body></html>";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "kai-web-"));
  mkdirSync(join(root, "assets"));
  writeFileSync(join(root, "index.html"), INDEX);
  writeFileSync(join(root, "assets", "index-abc123.js"), "console.log('app')");
  writeFileSync(join(root, "assets", "index-abc123.js.gz"), gzipSync("console.log('app')"));
  server = await startTestServer({ config: { web: { root } } });
});
afterAll(async () => {
  await server.dispose();
  rmSync(root, { recursive: true, force: true });
});

const html = { accept: "text/html,application/xhtml+xml" };

describe("the web app at /", () => {
  it("answers / with the app's page, without a token, under a strict Content Security Policy", async () => {
    const response = await fetch(`${server.url}/`, { headers: html });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toBe(INDEX);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toBe(WEB_APP_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-cache");
  });

  it("answers a browser's deep link (/services/x) with the same page, so a reload keeps the place", async () => {
    const response = await fetch(`${server.url}/services/openai-main?tab=health`, { headers: html });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(INDEX);
  });

  it("serves a new build's page once its files replace the old ones under the running node, not the page read at start", async () => {
    // The new build names its own asset; the old page would name one that is gone (a blank page in the browser).
    const next = "<!doctype html><html><head><title>kAI next build</title><script type=module src=/assets/index-def456.js></script></head><body></body></html>";
    writeFileSync(join(root, "assets", "index-def456.js"), "console.log('next')");
    writeFileSync(join(root, "index.html"), next);
    try {
      const page = await fetch(`${server.url}/services/x`, { headers: html });
      expect(await page.text()).toBe(next);
      expect(await (await fetch(`${server.url}/assets/index-def456.js`)).text()).toBe("console.log('next')");
      // Missing for a moment while a build writes it: the last page read, not an error.
      rmSync(join(root, "index.html"));
      const during = await fetch(`${server.url}/`, { headers: html });
      expect([during.status, await during.text()]).toEqual([200, next]);
    } finally {
      writeFileSync(join(root, "index.html"), INDEX);
    }
    expect(await (await fetch(`${server.url}/`, { headers: html })).text()).toBe(INDEX);
  });

  it("keeps JSON 404s for API clients and for API paths, even from a browser", async () => {
    for (const [path, headers] of [["/services/x", { accept: "application/json" }], ["/api/nothing-here", html], ["/v1/nothing", html], ["/assets/missing.js", html]] as const) {
      const response = await fetch(`${server.url}${path}`, { headers });
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code, path).toBe("not_found");
    }
    const post = await fetch(`${server.url}/services/x`, { method: "POST", headers: html });
    expect(post.status).toBe(404);
  });

  it("serves the hashed assets with a year of immutable caching", async () => {
    const response = await fetch(`${server.url}/assets/index-abc123.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/javascript/);
    expect(response.headers.get("cache-control")).toContain("immutable");
    expect(await response.text()).toBe("console.log('app')");
  });

  it("sends the build's precompressed file to a browser that accepts gzip, and plain bytes to one that does not", async () => {
    const get = (encoding: string | undefined) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        const url = new URL(`${server.url}/assets/index-abc123.js`);
        const request = httpRequest(url, { headers: encoding ? { "accept-encoding": encoding } : {} }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
        });
        request.on("error", reject);
        request.end();
      });
    const zipped = await get("gzip, deflate");
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(zipped.body).toString()).toBe("console.log('app')");
    const plain = await get(undefined);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe("console.log('app')");
  });

  it("refuses to serve files outside the build by path traversal", async () => {
    for (const path of ["/assets/../index.html", "/assets/%2e%2e/%2e%2e/package.json", "/assets/..%2f..%2fpackage.json"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).not.toBe(200);
    }
  });

  it("finds the @kai/web build by default, and serves nothing when turned off", () => {
    expect(resolveWebRoot({ enabled: true })).toMatch(/packages[\\/]web[\\/]dist$/);
    expect(resolveWebRoot({ enabled: false, root })).toBeUndefined();
  });
});

describe("a cookie session's WebSocket", () => {
  async function cookieSession(): Promise<string> {
    // A fresh user with a known password signs in in cookie mode, as the browser does.
    const password = "correct horse battery staple";
    const created = await server.request("/api/users", { method: "POST", json: { username: "web-user", password, roles: ["viewer"], mustChangePassword: false } });
    expect([201, 409]).toContain(created.status);
    const login = await fetch(`${server.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "web-user", password, mode: "cookie" }) });
    expect(login.status).toBe(200);
    return login.headers.getSetCookie().map((cookie) => cookie.split(";")[0]).join("; ");
  }

  function upgrade(cookie: string, origin: string | undefined): Promise<number> {
    return new Promise((resolve) => {
      const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/ws/registry`, { headers: { cookie, ...(origin ? { origin } : {}) } });
      socket.on("open", () => {
        socket.close();
        resolve(101);
      });
      socket.on("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.on("error", () => resolve(0));
    });
  }

  it("opens from the node's own origin and is refused from another origin of the same site, or with none", async () => {
    const cookie = await cookieSession();
    expect(await upgrade(cookie, server.url)).toBe(101);
    const port = Number(new URL(server.url).port);
    expect(await upgrade(cookie, `http://127.0.0.1:${port + 1}`)).toBe(403);
    expect(await upgrade(cookie, undefined)).toBe(403);
  });
});
