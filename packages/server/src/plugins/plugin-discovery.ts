/**
 * @module plugins/plugin-discovery
 * Finds plugin folders and says what each one is: every sub-folder of a root (the plugins shipped with the node,
 * `<dataDir>/plugins`, then each `plugins.paths` entry) with its manifest validated, its trust level decided and its
 * node API range checked. Nothing here throws for a plugin's sake: a broken plugin is listed with its problems and
 * the node keeps starting (issue 18). Hidden folders (`.git`) are passed over; a folder without `plugin.yaml` is
 * listed as invalid, because in a plugins folder it is almost certainly a mistake worth seeing.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PLUGIN_API_VERSION, PLUGIN_MANIFEST_FILE, type PluginDetail, type PluginProblem, type PluginTrust } from "@kai/protocol";
import { checkCompatibility } from "./plugin-compatibility.js";
import { readPluginManifest } from "./plugin-manifest.js";
import { verifyPluginFolder } from "./plugin-signature.js";
import type { PluginFileLimits } from "./plugin-files.js";

export type PluginSource = PluginDetail["source"];

/** A folder whose sub-folders are plugins, and how plugins found there start out trusted. */
export interface PluginRoot {
  path: string;
  source: PluginSource;
  /** True for roots the operator named (plugins.paths): a missing one is a problem worth listing. */
  required?: boolean;
}

export interface DiscoverOptions {
  isTrustedKey: (did: string) => boolean;
  apiVersion?: string;
  limits?: PluginFileLimits;
}

export interface Discovery {
  plugins: PluginDetail[];
  /** Problems not tied to one plugin (a missing configured root). */
  errors: PluginProblem[];
}

const TRUST_ORDER = { unverified: 0, trusted: 1, system: 2 } as const;

/** Reads every root in order; the first folder with an id wins, later ones with the same id are listed as invalid. */
export async function discoverPlugins(roots: readonly PluginRoot[], options: DiscoverOptions): Promise<Discovery> {
  const plugins: PluginDetail[] = [];
  const errors: PluginProblem[] = [];
  const byId = new Map<string, PluginDetail>();
  for (const root of roots) {
    let names: string[];
    try {
      const info = await stat(root.path);
      if (!info.isDirectory()) {
        errors.push({ file: root.path, message: "is not a folder" });
        continue;
      }
      names = (await readdir(root.path)).filter((name) => !name.startsWith(".")).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      if (root.required || code !== "ENOENT") errors.push({ file: root.path, message: code === "ENOENT" ? "does not exist" : `cannot be read (${code})` });
      continue;
    }
    for (const name of names) {
      const folder = join(root.path, name);
      let isFolder: boolean;
      try {
        // stat, not lstat: a plugin folder linked into plugins/ (a checkout being developed) is still a plugin.
        isFolder = (await stat(folder)).isDirectory();
      } catch {
        isFolder = false;
      }
      if (!isFolder) continue;
      const detail = await describeFolder(folder, name, root.source, options);
      const first = byId.get(detail.id);
      if (first) {
        detail.state = "invalid";
        detail.errors.push({ file: join(folder, PLUGIN_MANIFEST_FILE), field: "id", message: `another plugin already has the id ${detail.id} (${first.path}); this one is not used` });
      } else {
        byId.set(detail.id, detail);
      }
      plugins.push(detail);
    }
  }
  return { plugins, errors };
}

/** One folder: manifest, trust, compatibility. Never throws. */
export async function describeFolder(folder: string, name: string, source: PluginSource, options: DiscoverOptions): Promise<PluginDetail> {
  const apiVersion = options.apiVersion ?? PLUGIN_API_VERSION;
  const base = { folder: name, source, path: folder };
  try {
    const read = await readPluginManifest(folder);
    if (!read.ok) {
      return {
        ...base,
        id: name,
        state: "invalid",
        trust: source === "system" ? { level: "system", reason: "shipped with the node" } : { level: "unverified", reason: "the manifest is invalid" },
        errors: read.problems,
        compatibility: { compatible: false, apiVersion, reason: "the manifest is invalid" },
      };
    }
    const { manifest } = read;
    let trust: PluginTrust = source === "system"
      ? { level: "system", reason: "shipped with the node" }
      : await verifyPluginFolder(folder, manifest, { isTrustedKey: options.isTrustedKey, ...(options.limits ? { limits: options.limits } : {}) });
    const asked = manifest.trust_level;
    if (asked !== undefined && TRUST_ORDER[asked] > TRUST_ORDER[trust.level]) {
      trust = { ...trust, reason: `${trust.reason}; the manifest asks for ${asked}, but the node decides trust` };
    }
    const compatibility = checkCompatibility(manifest, apiVersion);
    const errors: PluginProblem[] = compatibility.compatible ? [] : [{ file: join(folder, PLUGIN_MANIFEST_FILE), field: "node_api", message: compatibility.reason }];
    return {
      ...base,
      id: manifest.id,
      name: manifest.name,
      version: manifest.version,
      state: compatibility.compatible ? "discovered" : "incompatible",
      trust,
      errors,
      compatibility,
      manifest,
    };
  } catch (error) {
    // Only a fault of ours gets here (every expected failure is a problem above); still, one plugin never stops the scan.
    return {
      ...base,
      id: name,
      state: "invalid",
      trust: { level: "unverified", reason: "the folder could not be examined" },
      errors: [{ file: folder, message: `could not be examined: ${(error as Error).message}` }],
      compatibility: { compatible: false, apiVersion, reason: "the folder could not be examined" },
    };
  }
}
