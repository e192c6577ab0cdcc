/**
 * Real plugin folders for the plugin tests: a manifest (as YAML text or an object written as YAML) and files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stringify } from "yaml";

/** The seed's example manifest (issue 18), with a node API range and one capability. */
export function seedManifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "plugin-musicgen",
    name: "AI Music Generator",
    entrypoint: "main.js",
    version: "0.2.1",
    node_api: "^1.0.0",
    permissions: ["audio_output", "llm_access"],
    ui: { menu: true, icon: "music.svg" },
    trust_level: "unverified",
    dependencies: [{ "@tensorflow/tfjs": "^4.0.0" }],
    capabilities: [{ name: "music_generation", description: "a tune from a prompt", input: { type: "object", properties: { prompt: { type: "string" } } }, output: { type: "object" } }],
    ...overrides,
  };
}

/** Writes `<root>/<folder>/plugin.yaml` and the files; returns the folder. */
export function makePlugin(root: string, folder: string, manifest: Record<string, unknown> | string, files: Record<string, string | Buffer> = { "main.js": "export default {};\n", "music.svg": "<svg/>" }): string {
  const dir = join(root, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "plugin.yaml"), typeof manifest === "string" ? manifest : stringify(manifest));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}
