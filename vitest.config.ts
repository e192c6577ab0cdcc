// Test runner configuration. In-process tests import the workspace packages from source (the alias),
// so they run without a build; tests that spawn the CLI or server use the built `dist/` (npm test builds first).
// Three projects: `node` (everything on the server side, the SDK, the CLI's unit tests beside its sources, and the
// browser tests that drive a real Chromium from Node), `cli` (packages/cli/test) and `web` (the web app's component
// tests, in jsdom with Testing Library).
// The CLI's tests drive the BUILT `kai`, and they take the workspace packages from their builds too (`dist/`, loaded by
// Node itself instead of vitest's transform): each file's in-process server then loads in about a third of the time
// (collect 12 s -> 4 s on a busy 2-core machine), and it is the server `kai serve` runs.
import { relative } from "node:path";
import { configDefaults, defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { BUILT_PACKAGES_EXTERNAL, builtPackages, staleBuild } from "./scripts/vitest-built-packages.js";

const root = fileURLToPath(new URL(".", import.meta.url));
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));
/** Subpath entries first: an alias also matches what starts with its name and a slash. */
const sourceAliases = [
  { find: "@kai/protocol/manifest", replacement: fileURLToPath(new URL("./packages/protocol/src/manifest.ts", import.meta.url)) },
  { find: "@kai/protocol/yaml", replacement: fileURLToPath(new URL("./packages/protocol/src/yaml-document.ts", import.meta.url)) },
  { find: "@kai/protocol", replacement: src("protocol") },
  { find: "@kai/sdk", replacement: src("sdk") },
  { find: "@kai/server", replacement: src("server") },
];

/**
 * The slowest files (measured in CI, longest first). CI starts from a fresh clone without vitest's timing cache, where
 * vitest orders files by size: a long file that happened to be small started last and ran alone at the end. These
 * go first; the rest keep vitest's order (timings when it has them, else size).
 */
const SLOWEST_FIRST = [
  "packages/web/test/browser/app.test.ts",
  "packages/server/test/http/hostile-input.test.ts",
  "packages/cli/test/services.test.ts",
  "packages/cli/test/vault.test.ts",
  "packages/cli/test/sign-in.test.ts",
  "packages/cli/test/federation.test.ts",
  "packages/server/test/storage/sqlite-store.test.ts",
  "packages/server/test/storage/identity-store.test.ts",
  "packages/server/test/e2e/crash-safety.test.ts",
  "packages/cli/test/artifact.test.ts",
  "packages/cli/test/storage-copy.test.ts",
  "packages/server/test/registry/liveness.test.ts",
  "packages/cli/test/memory.test.ts",
  "packages/cli/test/prompt.test.ts",
  "packages/web/test/browser/passkeys.test.ts",
  "packages/web/test/browser/extension.test.ts",
  "packages/cli/test/token.test.ts",
  "packages/cli/test/apply.test.ts",
  "packages/cli/test/sso-sign-in.test.ts",
  "packages/cli/test/mfa.test.ts",
  "packages/cli/test/gateway.test.ts",
  "packages/server/test/cluster/pg-cluster.test.ts",
];

const stale = process.env.KAI_TEST_SOURCES === "1" ? "KAI_TEST_SOURCES=1" : staleBuild(root);
const useBuilds = stale === null;
if (!useBuilds) console.warn(`node tests import the packages' sources (${stale}); \`npm run build\` first loads them faster`);

class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FIRST.indexOf(relative(root, file.moduleId).split("\\").join("/"));
      return index === -1 ? SLOWEST_FIRST.length : index;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    pool: "forks",
    sequence: { sequencer: SlowestFirstSequencer },
    // Two test files at a time. Vitest's default on a 2-core machine is one (cores - 1), which leaves the second core
    // idle while a file waits on its servers (PostgreSQL's fsyncs, a spawned node, Chromium): the whole run took
    // 24 minutes on one fork, too close to CI's 30-minute budget.
    // The forks share each fork's module cache between the files it runs (isolate: false): the server's several
    // hundred modules load once per fork instead of once per file (the node project's collect time 449 s -> 124 s on
    // this 2-core machine; the project 13 -> 10 min). The price: a file must leave no global state behind
    // (process.env, globals, module-level caches it changes); docs/contributing/testing.md says so. Vitest has one
    // forks pool for every project, so this holds for each project on it; the web project, whose component tests
    // share jsdom's document and the app's module state, runs isolated in the threads pool instead.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false }, threads: { maxThreads: 2, minThreads: 1 } },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        resolve: { alias: sourceAliases },
        // The packages' builds when they are fresh (scripts/vitest-built-packages.ts says why), else their sources.
        plugins: useBuilds ? [builtPackages(root)] : [],
        test: {
          name: "node",
          include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "packages/cli/test/**"],
          ...(useBuilds ? { server: { deps: { external: [BUILT_PACKAGES_EXTERNAL] } } } : {}),
        },
      },
      {
        extends: true,
        test: {
          name: "cli",
          include: ["packages/cli/test/**/*.test.ts"],
          // The packages' builds, resolved through their package.json (npm test builds them first), left to Node.
          server: { deps: { external: [BUILT_PACKAGES_EXTERNAL] } },
        },
      },
      {
        extends: true,
        resolve: { alias: sourceAliases },
        plugins: [react()],
        test: {
          name: "web",
          // Isolated (see poolOptions above), and after the other projects (groupOrder): the two pools do not compete
          // for the 2 cores.
          pool: "threads",
          sequence: { groupOrder: 1 },
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
