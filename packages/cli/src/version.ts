/**
 * @module version
 * The CLI's version, read from its package.json at run time so there is one place to bump it. Node's own JSON
 * loading (through `require`) rather than `parseJson`: every `kai` start reads this, and `@kai/protocol` costs a
 * quarter of a second to load; the file is the package's own, not input.
 */
import { createRequire } from "node:module";

function readVersion(): string {
  try {
    const manifest: unknown = createRequire(import.meta.url)("../package.json");
    const version = typeof manifest === "object" && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
    return typeof version === "string" ? version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const VERSION = readVersion();
