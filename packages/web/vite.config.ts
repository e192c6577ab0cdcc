// Builds the web app (`dist/`, served by the server at `/`) and, with `--mode extension`, the Chrome MV3
// extension (`dist-extension/`: the same app as the full tab, plus the popup and side panel pages). The SDK and
// protocol are compiled from source (as the tests do), so the app never waits on their `tsc` build.
// `npm run dev -w @kai/web` serves it with hot reload and proxies the API to KAI_DEV_SERVER (default :7070).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { fileURLToPath } from "node:url";

const source = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));
const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig(({ mode }) => {
  const extension = mode === "extension";
  const api = process.env.KAI_DEV_SERVER ?? "http://127.0.0.1:7070";
  const pages: Record<string, string> = extension
    ? { index: page("index.html"), popup: page("popup.html"), sidepanel: page("sidepanel.html") }
    : { index: page("index.html") };
  return {
    plugins: [react(), tailwindcss()],
    resolve: { alias: { "@kai/protocol": source("protocol"), "@kai/sdk": source("sdk") } },
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
