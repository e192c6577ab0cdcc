// Builds the web app (`dist/`, served by the server at `/`) and, with `--mode extension`, the Chrome MV3
// extension (`dist-extension/`: the same app as the full tab, plus the popup and side panel pages). The SDK and
// protocol are compiled from source (as the tests do), so the app never waits on their `tsc` build.
// `npm run dev -w @kai/web` serves it with hot reload and proxies the API to KAI_DEV_SERVER (default :7070).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { fileURLToPath } from "node:url";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/**
 * Writes a `.br` and a `.gz` beside every script and stylesheet of the build, at the highest levels (once, at build
 * time), for the server to send to browsers that accept them (@fastify/static's preCompressed). A dozen lines on
 * Node's own zlib, rather than a plugin dependency for it.
 */
function precompress() {
  // The build's own folder as resolved (`dist/`, or a `--outDir` given on the command line, e.g. a private build for
  // KAI_TEST_WEB_ROOT in the browser tests).
  let outDir = fileURLToPath(new URL("dist", import.meta.url));
  return {
    name: "kai-precompress",
    apply: "build" as const,
    configResolved(config: { root: string; build: { outDir: string } }) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const assets = join(outDir, "assets");
      for (const name of readdirSync(assets)) {
        if (!/\.(js|css)$/.test(name)) continue;
        const bytes = readFileSync(join(assets, name));
        writeFileSync(join(assets, `${name}.gz`), gzipSync(bytes, { level: 9 }));
        writeFileSync(join(assets, `${name}.br`), brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

const source = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));
const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig(({ mode }) => {
  const extension = mode === "extension";
  const api = process.env.KAI_DEV_SERVER ?? "http://127.0.0.1:7070";
  const pages: Record<string, string> = extension
    ? { index: page("index.html"), popup: page("popup.html"), sidepanel: page("sidepanel.html") }
    : { index: page("index.html") };
  return {
    // The extension's files are read from disk by Chrome: nothing to compress there.
    plugins: [react(), tailwindcss(), ...(extension ? [] : [precompress()])],
    // The subpath first: an alias also matches what starts with its name and a slash.
    resolve: { alias: { "@kai/protocol/yaml": fileURLToPath(new URL("../protocol/src/yaml-document.ts", import.meta.url)), "@kai/protocol": source("protocol"), "@kai/sdk": source("sdk") } },
    // The extension's pages are loaded from chrome-extension:// URLs: relative asset paths work there and at `/`.
    base: extension ? "./" : "/",
    publicDir: extension ? "src/extension/public" : false,
    build: {
      outDir: extension ? "dist-extension" : "dist",
      emptyOutDir: true,
      target: "es2022",
      // No inline scripts or styles: the server's Content Security Policy allows only 'self'.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      // The main chunk (React, the router, the query cache, the SDK and the protocol's schemas) is about 600 KB
      // minified, 185 KB gzipped; the budget that matters is gzipped first-load JS, measured by bench/web.mjs.
      chunkSizeWarningLimit: 700,
      rollupOptions: {
        input: pages,
      },
    },
    server: {
      proxy: {
        "/api": api,
        "/v1": api,
        "/ws": { target: api.replace(/^http/, "ws"), ws: true },
        "/healthz": api,
        "/readyz": api,
      },
    },
  };
});
