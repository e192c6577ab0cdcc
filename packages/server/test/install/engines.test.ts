/**
 * @module test/install/engines
 * Every package the install puts in node_modules accepts the oldest Node.js the project supports (root
 * `engines.node`): otherwise `npm ci` warns (EBADENGINE) on the very Node we tell users to run, and the package
 * may use APIs that Node lacks. cookie@2 (pulled in by fastify's inject helper) wanted Node >= 22; the root
 * `overrides` pins the cookie 1.x that light-my-request also works with.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

interface PackageJson {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

const readPackage = (file: string): PackageJson => JSON.parse(readFileSync(file, "utf8")) as PackageJson;

/** Every installed package (nested node_modules included) whose `engines.node` refuses `node`. */
function refusing(node: string): string[] {
  const refused: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith(".")) continue;
      const path = join(dir, name);
      if (name.startsWith("@")) {
        walk(path);
        continue;
      }
      const manifest = join(path, "package.json");
      if (existsSync(manifest)) {
        const pkg = readPackage(manifest);
        const wanted = pkg.engines?.node;
        if (wanted && !semver.satisfies(node, wanted)) refused.push(`${pkg.name}@${pkg.version} wants node ${wanted}`);
      }
      const nested = join(path, "node_modules");
      if (existsSync(nested)) walk(nested);
    }
  };
  walk(join(root, "node_modules"));
  return refused;
}

describe("installed packages", () => {
  it("all accept the oldest Node.js in the root engines range", () => {
    const range = readPackage(join(root, "package.json")).engines?.node;
    expect(range).toBeDefined();
    const oldest = semver.minVersion(range!)!.version;
    expect(semver.major(oldest)).toBe(20);
    expect(refusing(oldest)).toEqual([]);
  });
});
