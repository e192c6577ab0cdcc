/**
 * The agent overrides layer (issue 18) on the parts: one file per agent in the agents' folder (`kPlanner.main.yaml`
 * for `kPlanner:main`), in that agent's view only, above the user file, flags and environment and below the runtime
 * layer; only the allowlisted keys (AGENT_KEYS), refused naming file and key otherwise; locks of the system file hold
 * against it (naming where the lock is); `@env:NAME` works; an invalid file name or value is an error at start naming
 * the file; a reload with a broken file keeps the last good views; explain shows the agent layer; views are cached
 * per agent and replaced when the layers change.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentConfigDirOf, ConfigError, loadConfigLayers, readConfigLayers, type ConfigSources } from "../../src/config/load-config.js";
import { agentFileName, agentIdOfFile } from "../../src/config/layers/agent-layers.js";
import { LayeredConfig, type ConfigChange } from "../../src/config/layers/layered-config.js";
import { ApiError } from "../../src/errors.js";

const root = mkdtempSync(join(tmpdir(), "kai-agent-layer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A folder with a user file `kai.yaml` and an `agents/` folder holding `files` (name → YAML). */
function setup(user: string, files: Record<string, string>, system?: string): ConfigSources & { agents: string } {
  const dir = join(root, `case-${counter++}`);
  const agents = join(dir, "agents");
  mkdirSync(agents, { recursive: true });
  writeFileSync(join(dir, "kai.yaml"), user);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(agents, name), text);
  const systemFile = system === undefined ? undefined : join(dir, "system.yaml");
  if (systemFile) writeFileSync(systemFile, system ?? "");
  return { configFile: join(dir, "kai.yaml"), ...(systemFile ? { systemFile } : {}), env: {}, agents };
}

function configError(sources: ConfigSources): ConfigError {
  try {
    loadConfigLayers(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

function layered(sources: ConfigSources, onChanged?: (changes: readonly ConfigChange[], by: string) => void): LayeredConfig {
  const { config, layers } = loadConfigLayers(sources);
  return new LayeredConfig({
    layers,
    config,
    live: { "logging.level": () => undefined, "agents.tasks.stepTimeoutMs": () => undefined, "agents.planner": () => undefined },
    reread: () => readConfigLayers(sources),
    ...(onChanged ? { onChanged } : {}),
  });
}

describe("agent overrides: file names", () => {
  it("maps kClass:name to <kClass>.<name>.yaml and back, and nothing else to an agent", () => {
    expect(agentFileName("kPlanner:main")).toBe("kPlanner.main.yaml");
    expect(agentIdOfFile("kPlanner.main.yaml")).toBe("kPlanner:main");
    expect(agentIdOfFile("kExecutor.web.scraper.yml")).toBe("kExecutor:web.scraper");
    for (const name of ["kplanner.main.yaml", "planner.yaml", "kPlanner:main.yaml", "kPlanner..yaml", "kPlanner.Main.yaml", "kPlanner.-x.yaml", "kPlanner.main.json"]) expect(agentIdOfFile(name), name).toBeUndefined();
  });

  it("the folder is KAI_AGENT_CONFIG_DIR, else agents/ beside the user file, else none", () => {
    expect(agentConfigDirOf({ configFile: "/etc/kai/kai.yaml", env: {} })).toEqual({ dir: "/etc/kai/agents", named: false });
    expect(agentConfigDirOf({ configFile: "/etc/kai/kai.yaml", env: { KAI_AGENT_CONFIG_DIR: "/srv/agents" } })).toEqual({ dir: "/srv/agents", named: true });
    expect(agentConfigDirOf({ env: {} })).toBeUndefined();
    // A folder named explicitly must exist: a typo is not "no overrides".
    expect(configError({ env: { KAI_AGENT_CONFIG_DIR: join(root, "no-such-folder") } }).message).toContain("no-such-folder");
  });
});

describe("agent overrides: the agent's view", () => {
  it("the agent's file wins over the user file and flags in its view only; the node and other agents keep theirs", () => {
    const sources = setup("agents:\n  tasks:\n    stepTimeoutMs: 30000\n", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: 900000\n", "README.md": "not a layer", ".kExecutor.slow.yaml.swp": "x" });
    const config = layered({ ...sources, overrides: { agents: { tasks: { stepTimeoutMs: 45_000 } } } });
    expect(config.forAgent("kExecutor:slow").agents.tasks.stepTimeoutMs).toBe(900_000);
    expect(config.forAgent("kExecutor:other").agents.tasks.stepTimeoutMs).toBe(45_000);
    expect(config.explain("agents.tasks.stepTimeoutMs").winner).toBe("cli");
    // Cached per agent: the same view until the layers change.
    expect(config.forAgent("kExecutor:slow")).toBe(config.forAgent("kExecutor:slow"));
    expect(config.agentOverrides("kExecutor:slow")).toEqual({ source: join(sources.agents, "kExecutor.slow.yaml"), keys: ["agents.tasks.stepTimeoutMs"] });
  });

  it("explain with an agent lists its file as the agent layer, winning; without, no agent layer is listed", () => {
    const sources = setup("agents:\n  planner:\n    temperature: 0.3\n", { "kPlanner.main.yaml": "agents:\n  planner:\n    temperature: 0.9\n    attempts: 1\n" });
    const config = layered(sources);
    const explained = config.explain("agents.planner.temperature", "kPlanner:main");
    expect(explained).toMatchObject({ key: "agents.planner.temperature", agent: "kPlanner:main", value: 0.9, winner: "agent" });
    expect(explained.layers.map((layer) => layer.layer)).toEqual(["defaults", "user", "env", "cli", "agent"]);
    expect(explained.layers.find((layer) => layer.layer === "agent")).toMatchObject({ source: join(sources.agents, "kPlanner.main.yaml"), set: true, value: 0.9 });
    expect(config.explain("agents.planner.temperature")).toMatchObject({ value: 0.3, winner: "user" });
    expect(config.explain("agents.planner.temperature").layers.some((layer) => layer.layer === "agent")).toBe(false);
    // An agent without a file: its view is the node's.
    expect(config.explain("agents.planner.temperature", "kPlanner:spare")).toMatchObject({ value: 0.3, winner: "user" });
  });

  it("@env:NAME reads the environment, converted where the schema wants a number", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: '@env:SLOW_TIMEOUT'\n" });
    const config = layered({ ...sources, env: { SLOW_TIMEOUT: "120000" } });
    expect(config.forAgent("kExecutor:slow").agents.tasks.stepTimeoutMs).toBe(120_000);
    expect(config.explain("agents.tasks.stepTimeoutMs", "kExecutor:slow").layers.find((layer) => layer.layer === "agent")).toMatchObject({ env: "SLOW_TIMEOUT" });
    expect(configError(sources).message).toMatch(/agents\.tasks\.stepTimeoutMs: environment variable SLOW_TIMEOUT is not set/);
  });

  it("the runtime layer is above the agent's file", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: 900000\n" });
    const changes: ConfigChange[] = [];
    const config = layered(sources, (list) => changes.push(...list));
    config.change({ "agents.tasks.stepTimeoutMs": 5000 }, "carol");
    expect(config.forAgent("kExecutor:slow").agents.tasks.stepTimeoutMs).toBe(5000);
    expect(config.explain("agents.tasks.stepTimeoutMs", "kExecutor:slow").winner).toBe("runtime");
    // Node-wide once, and the agent's own change (its view differed from the node's) with its id.
    expect(changes).toEqual([
      { key: "agents.tasks.stepTimeoutMs", old: 60_000, new: 5000 },
      { key: "agents.tasks.stepTimeoutMs", old: 900_000, new: 5000, agent: "kExecutor:slow" },
    ]);
  });
});

describe("agent overrides: refused", () => {
  it("a key outside the allowlist, naming the file and the key", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "logging:\n  level: debug\nagents:\n  tasks:\n    stepTimeoutMs: 1000\n" });
    const error = configError(sources);
    expect(error.message).toContain(join(sources.agents, "kExecutor.slow.yaml"));
    expect(error.message).toMatch(/logging\.level: not a per-agent setting/);
    expect(error.problems).toContainEqual(expect.objectContaining({ layer: "agent", key: "logging.level" }));
  });

  it("a planner key in the file of an agent that is not a planner", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "agents:\n  planner:\n    attempts: 2\n" });
    expect(configError(sources).message).toMatch(/agents\.planner\.attempts: only kPlanner agents read agents\.planner, not kExecutor:slow/);
  });

  it("a key locked by the system file, saying where the lock is", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: 1000\n" }, "'@locked': [agents.tasks]\n");
    const error = configError(sources);
    expect(error.message).toContain("agents.tasks");
    expect(error.message).toContain(`locked by the system layer (${sources.systemFile})`);
    expect(error.message).toContain(`agent layer of kExecutor:slow (${join(sources.agents, "kExecutor.slow.yaml")})`);
  });

  it("an invalid value, a file name that is no agent id, @locked in an agent file, a second file for one agent", () => {
    const invalid = setup("", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: 5\n" });
    const error = configError(invalid);
    expect(error.message).toContain(join(invalid.agents, "kExecutor.slow.yaml"));
    expect(error.message).toContain("agents.tasks.stepTimeoutMs");
    const badName = setup("", { "executor-slow.yaml": "agents: {}\n" });
    expect(configError(badName).message).toMatch(/executor-slow\.yaml: the file name must be <kClass>\.<name>\.yaml/);
    const locking = setup("", { "kExecutor.slow.yaml": "'@locked': [agents.tasks]\n" });
    expect(configError(locking).message).toMatch(/only the system and policy files may lock keys, not the agent layer/);
    const twice = setup("", { "kExecutor.slow.yaml": "agents: {}\n", "kExecutor.slow.yml": "agents: {}\n" });
    expect(configError(twice).message).toMatch(/a second file for agent kExecutor:slow/);
  });

  it("a runtime change that a lock refuses is not made worse by agent files; the view stays", () => {
    const sources = setup("", { "kExecutor.slow.yaml": "agents:\n  tasks:\n    stepTimeoutMs: 900000\n" }, "'@locked': [logging.level]\n");
    const config = layered(sources);
    let refused: unknown;
    try {
      config.change({ "logging.level": "debug" }, "carol");
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe("config_locked");
    expect(config.forAgent("kExecutor:slow").agents.tasks.stepTimeoutMs).toBe(900_000);
  });
});

describe("agent overrides: reload", () => {
  it("a broken file keeps the last good views and says why; a valid one replaces the view and is told with the agent", () => {
    const sources = setup("", { "kPlanner.main.yaml": "agents:\n  planner:\n    attempts: 2\n" });
    const file = join(sources.agents, "kPlanner.main.yaml");
    const changes: Array<{ changes: readonly ConfigChange[]; by: string }> = [];
    const config = layered(sources, (list, by) => changes.push({ changes: list, by }));
    const before = config.forAgent("kPlanner:main");

    writeFileSync(file, "agents:\n  planner:\n    attempts: 50\n");
    let error: unknown;
    try {
      config.reload();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(file);
    expect((error as ConfigError).message).toContain("agents.planner.attempts");
    expect(config.forAgent("kPlanner:main")).toBe(before);
    expect(config.forAgent("kPlanner:main").agents.planner.attempts).toBe(2);

    writeFileSync(file, "agents:\n  planner:\n    attempts: 4\n    temperature: 0.7\n");
    config.reload();
    expect(config.forAgent("kPlanner:main").agents.planner).toMatchObject({ attempts: 4, temperature: 0.7 });
    expect(config.forAgent("kPlanner:main")).not.toBe(before);
    expect(changes).toEqual([{
      by: "file",
      changes: [
        { key: "agents.planner.attempts", old: 2, new: 4, agent: "kPlanner:main" },
        { key: "agents.planner.temperature", old: 0.2, new: 0.7, agent: "kPlanner:main" },
      ],
    }]);

    // A new file for another agent is read too; a removed file takes the agent back to the node's view.
    writeFileSync(join(sources.agents, "kExecutor.slow.yaml"), "agents:\n  tasks:\n    stepTimeoutMs: 1000\n");
    rmSync(file);
    config.reload();
    expect(config.forAgent("kExecutor:slow").agents.tasks.stepTimeoutMs).toBe(1000);
    expect(config.forAgent("kPlanner:main").agents.planner.attempts).toBe(3);
    expect(config.agentOverrides("kPlanner:main")).toEqual({ source: null, keys: [] });
  });
});
