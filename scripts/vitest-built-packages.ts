// Lets the in-process (`node`) tests run the workspace packages' BUILDS instead of their TypeScript sources, when
// the builds are fresh. Vitest runs every source module through its own module runner (a transform, then a wrapped
// evaluation per module and per test file); the server is several hundred modules, so each test file spent most of
// its time importing it. Loaded by Node itself from `dist/`, the same graph loads in about a third of the time. The
// CLI tests already do this through package.json; the node tests also import internals by relative path
// (`../../src/registry/…`), which is what this plugin redirects.
//
// Only all or nothing: a stale build mixed with sources would load two copies of a module (two registries of the
// same class), so when any build output is missing or older than its source the tests use the sources, as before,
// and say why once. `npm test` builds first (typecheck runs `tsc -b`), so CI always takes the fast path.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import type { Plugin } from "vite";

const PACKAGES = ["protocol", "sdk", "server"] as const;

/** Each `src/…/x.ts` (not a test) of the packages, with the `dist/…/x.js` tsc builds from it. */
function* sourcesWithBuilds(root: string): Generator<{ srcDir: string; source: string; built: string }> {
  for (const pkg of PACKAGES) {
    const srcDir = join(root, "packages", pkg, "src");
    const distDir = join(root, "packages", pkg, "dist");
    for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts") || entry.name.endsWith(".d.ts")) continue;
      const source = join(entry.parentPath, entry.name);
      if (source.includes(`${sep}__fixtures__${sep}`)) continue;
      yield { srcDir, source, built: join(distDir, source.slice(srcDir.length, -".ts".length) + ".js") };
    }
  }
}

/**
 * Why the builds cannot be used (the first missing output or source edited since the last build), or null when
 * every one is fresh. A build is dated by its `tsconfig.tsbuildinfo`, which `tsc -b` writes on every build: tsc
 * leaves an output file untouched when a type-only edit does not change it, so the output's own date proves nothing.
 */
export function staleBuild(root: string): string | null {
  const builtAt = new Map<string, number>();
  for (const pkg of PACKAGES) {
    const info = join(root, "packages", pkg, "tsconfig.tsbuildinfo");
    if (!existsSync(info)) return `packages/${pkg} is not built`;
    builtAt.set(join(root, "packages", pkg, "src"), statSync(info).mtimeMs);
  }
  for (const { srcDir, source, built } of sourcesWithBuilds(root)) {
    if (!existsSync(built)) return `${built} is missing`;
    if (statSync(source).mtimeMs > builtAt.get(srcDir)!) return `${source} changed after the last build`;
  }
  return null;
}

/** Matches a resolved source file of the packages: `<root>/packages/<pkg>/src/<path>.ts`. */
function sourcePattern(root: string): RegExp {
  const escaped = join(root, "packages").split(sep).join("/").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped}/(${PACKAGES.join("|")})/src/(.+)\\.ts$`);
}

/** The vite plugin: resolves each import of a package source to its build. */
export function builtPackages(root: string): Plugin {
  const pattern = sourcePattern(root);
  return {
    name: "kai-built-packages",
    enforce: "pre",
    async resolveId(id, importer, options) {
      const resolved = await this.resolve(id, importer, { ...options, skipSelf: true });
      const match = resolved && !resolved.external ? pattern.exec(resolved.id.split(sep).join("/")) : null;
      if (!match || match[2]!.endsWith(".test")) return null;
      return { id: join(root, "packages", match[1]!, "dist", `${match[2]}.js`), external: true };
    },
  };
}

/** Vitest's `server.deps.external` entry that leaves the builds to Node. */
export const BUILT_PACKAGES_EXTERNAL = new RegExp(`/packages/(${PACKAGES.join("|")})/dist/`);
