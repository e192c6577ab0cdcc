// Test runner configuration. In-process tests import the workspace packages from source (the alias),
// so they run without a build; tests that spawn the CLI or server use the built `dist/` (npm test builds first).
// Two projects: `node` (everything on the server side, the SDK, the CLI, and the browser tests that drive a real
// Chromium from Node) and `web` (the web app's component tests, in jsdom with Testing Library).
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@kai/protocol": src("protocol"),
      "@kai/sdk": src("sdk"),
      "@kai/server": src("server"),
    },
  },
  test: {
    pool: "forks",
    // Two test files at a time. Vitest's default on a 2-core machine is one (cores - 1), which leaves the second core
    // idle while a file waits on its servers (PostgreSQL's fsyncs, a spawned node, Chromium): the whole run took
    // 24 minutes on one fork, too close to CI's 30-minute budget.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: { name: "node", include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"] },
      },
      {
        extends: true,
        plugins: [react()],
        test: {
          name: "web",
          environment: "jsdom",
          // Each file starts a real node (argon2, key derivation): slow on a busy 2-core machine.
          hookTimeout: 60_000,
          include: ["packages/web/src/**/*.test.tsx"],
          setupFiles: ["packages/web/src/test-support/setup.ts"],
        },
      },
    ],
  },
});
