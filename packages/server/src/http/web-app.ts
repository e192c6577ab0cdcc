/**
 * @module http/web-app
 * Serves the web app (issue 15) from the node's own origin: `GET /` and every deep link a browser navigates to
 * (`/services/openai-main`) answer the app's `index.html`; `/assets/*` are its content-hashed files, cached for a
 * year. Public like the probes: the app holds no data, it signs in through the API like any other client.
 *
 * Every page goes out with a strict Content Security Policy: scripts, styles, fonts and connections only from
 * this origin, no inline script or style (Vite emits none: vite.config.ts), nothing may frame the app. Service UIs
 * are framed by the app in sandboxed iframes, hence `frame-src` http(s). A request that is not a browser's page
 * navigation (an API client's 404, a missing asset) keeps the JSON error: only `Accept: text/html` GETs outside
 * the API's prefixes fall back to the app.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyStatic from "@fastify/static";
import type { WebConfig } from "../config/web-config.js";

export const WEB_APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS = {
  "content-security-policy": WEB_APP_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "x-frame-options": "DENY",
  // index.html names the current asset files: never cache it, or an upgrade would load assets that are gone.
  "cache-control": "no-cache",
} as const;

/** Paths that belong to the API and protocols, never to the app: their unknown paths stay JSON 404s. */
const NOT_APP_PREFIXES = ["/api/", "/v1/", "/ws/", "/klp/", "/.well-known/", "/docs", "/assets/", "/metrics", "/openapi.json", "/healthz", "/readyz"];

/** Where the built app is: the configured root, else `@kai/web`'s `dist/` when that package is installed and built. */
export function resolveWebRoot(config: WebConfig): string | undefined {
  if (!config.enabled) return undefined;
  if (config.root !== undefined) return resolve(config.root);
  try {
    const manifest = createRequire(import.meta.url).resolve("@kai/web/package.json");
    return join(dirname(manifest), "dist");
  } catch {
    return undefined;
  }
}

/** Whether `root` holds a built app (its index page). */
export function hasWebBuild(root: string | undefined): boolean {
  return root !== undefined && existsSync(join(root, "index.html"));
}

/**
 * The app's index page, read again whenever its file changes. Why not once at start: a build replaced under a running
 * node (an upgrade unpacked before the restart, `npm run build:web` while the node runs) left browsers the old page,
 * which names asset files the new build no longer has: a blank page until the restart. Asset files are read from disk
 * per request already, so the new page finds its assets. A stat per page load (not per asset) is all it costs. While
 * the file is being replaced (missing for a moment), the last page read is served.
 */
function indexPage(path: string): () => Buffer {
  const { mtimeMs, size } = statSync(path);
  let cached = { mtimeMs, size, bytes: readFileSync(path) };
  return () => {
    try {
      const { mtimeMs, size } = statSync(path);
      if (mtimeMs !== cached.mtimeMs || size !== cached.size) cached = { mtimeMs, size, bytes: readFileSync(path) };
    } catch {
      // Missing or unreadable for a moment (a build writing it): the last page read.
    }
    return cached.bytes;
  };
}

export interface WebApp {
  /** The answer to a browser navigation outside the API (the app's index page), or false when it is not one. */
  serveNavigation(request: FastifyRequest, reply: FastifyReply): FastifyReply | false;
}

function isNavigation(request: FastifyRequest): boolean {
  if (request.method !== "GET") return false;
  const path = request.url.split("?")[0] ?? "/";
  if (NOT_APP_PREFIXES.some((prefix) => path === prefix || path.startsWith(prefix))) return false;
  return (request.headers.accept ?? "").includes("text/html");
}

/**
 * Registers the app's routes when its build is present; returns undefined (and the caller keeps `/` leading to
 * the API docs) when it is not.
 */
export async function installWebApp(app: FastifyInstance, root: string | undefined): Promise<WebApp | undefined> {
  if (root === undefined || !hasWebBuild(root)) return undefined;
  const index = indexPage(join(root, "index.html"));
  const sendIndex = (reply: FastifyReply) => reply.headers(PAGE_HEADERS).type("text/html; charset=utf-8").send(index());

  await app.register(fastifyStatic, {
    root: join(root, "assets"),
    prefix: "/assets/",
    // @fastify/swagger-ui registers the plugin too; only one may decorate the reply.
    decorateReply: false,
    index: false,
    // Content-hashed names: a file's bytes never change under its name.
    immutable: true,
    // The build writes .br and .gz beside each script and stylesheet (vite.config.ts): sent to browsers that take them.
    preCompressed: true,
    maxAge: 365 * 24 * 3600 * 1000,
    setHeaders: (response) => {
      response.setHeader("x-content-type-options", "nosniff");
    },
    schemaHide: true,
  });
  app.get("/", { schema: { tags: ["node"], summary: "The web app (no authentication: it signs in through the API)", produces: ["text/html"] } }, async (_request, reply) => sendIndex(reply));
  return {
    serveNavigation(request, reply) {
      return isNavigation(request) ? sendIndex(reply) : false;
    },
  };
}
