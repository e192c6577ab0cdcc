/**
 * @module version
 * The CLI's version, read from its package.json at run time so there is one place to bump it.
 */
import { readFileSync } from "node:fs";
import { parseJson } from "@kai/protocol";

function readVersion(): string {
  try {
    const result = parseJson(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    const version = result.ok && typeof result.value === "object" && result.value !== null ? (result.value as { version?: unknown }).version : undefined;
    return typeof version === "string" ? version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const VERSION = readVersion();
