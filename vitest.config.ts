// Test runner configuration. In-process tests import the workspace packages from source (the alias),
// so they run without a build; tests that spawn the CLI or server use the built `dist/` (npm test builds first).
import { defineConfig } from "vitest/config";
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
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ["default"],
  },
});
