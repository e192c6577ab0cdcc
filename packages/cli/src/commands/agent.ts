/**
 * @module commands/agent
 * `kai agent keygen|register|list|show|rm|status` (issue 16): an agent's identity and its entry in the node's agent
 * directory. `keygen` writes a new Ed25519 seed to a file only its owner can read and prints the DID; `register`
 * reads a manifest (YAML or JSON), fills `did` (the key's) and `issuedAt` (now), signs it with the key in this
 * process (the key never leaves it) and registers it. Scopes: `agents:write` to register and remove, `agents:read`
 * otherwise. Heartbeats: `kai services heartbeat <id>`-style calls to the registry (an agent is a registry record).
 */
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { SignedAgentManifestSchema, fieldErrorsFromZod, klp, signAgentManifest, type AgentStatus, type ServiceRecord, type UnsignedAgentManifest } from "@kai/protocol";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { readAgentKey } from "../agent-key-file.js";
import { readDocument } from "../input-file.js";
import { cell, formatKeyValues, listCell } from "../output.js";
import { addA2aCommand } from "./agent-a2a.js";
import { addMcpCommand, removeMcpCommand } from "./agent-mcp.js";
import { runsCommand, startAgentCommand, stopAgentCommand } from "./agent-run.js";

const AGENT_HEADERS = ["ID", "NAME", "STATUS", "TRANSPORT", "CAPABILITIES", "URL"];
const STATUS_HEADERS = ["ID", "STATUS", "TRANSPORT", "LOAD", "TASKS", "HEARTBEAT"];

/** The agent part of a record as the list shows it (a record of type agent without it shows `-`). */
function transportOf(record: ServiceRecord): string {
  const agent = record.metadata.agent;
  return agent !== null && typeof agent === "object" && "transport" in agent ? String(agent.transport) : "-";
}

function agentRow(record: ServiceRecord): string[] {
  return [record.id, record.name, record.status, transportOf(record), listCell(record.capabilities), cell(record.url)];
}

function statusRow(agent: AgentStatus): string[] {
  return [agent.id, agent.status, agent.transport, `${agent.load.running}/${agent.load.limit}`, listCell(agent.currentTasks), cell(agent.heartbeat)];
}

function keygenCommand(): Command {
  const command = new Command("keygen")
    .description("create a new Ed25519 key for an agent: writes its seed to <file> (mode 600) and prints its DID")
    .requiredOption("--out <file>", "where to write the key (refused when the file exists)");
  addGlobalOptions(command);
  return command.action((flags: { out: string }, self: Command) => {
    const { out } = contextOf(self);
    const key = klp.generateKeyPair();
    try {
      // `wx`: never overwrite a key (an agent's identity) by accident; the mode applies as the file is created.
      writeFileSync(flags.out, `${JSON.stringify({ did: key.did, seed: klp.toBase64Url(key.secretKey) }, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw usageError(`${flags.out}: ${code === "EEXIST" ? "exists already; choose another file (a key is never overwritten)" : "cannot write it"}`);
    } finally {
      key.secretKey.fill(0);
    }
    if (out.json) out.document({ did: key.did, file: flags.out });
    else out.line(key.did);
  });
}

function registerCommand(): Command {
  const command = new Command("register")
    .description("sign an agent manifest (YAML or JSON) with the agent's key and register it; did and issuedAt are filled in")
    .argument("<manifest>", "the manifest file (- for stdin)")
    .requiredOption("--key <file>", "the agent's private key (from `kai agent keygen`, PEM, JWK or the 32-byte seed)");
  addGlobalOptions(command);
  return command.action(async (path: string, flags: { key: string }, self: Command) => {
    const { out, client } = contextOf(self);
    if (path === "-" && flags.key === "-") throw usageError("the manifest and the key cannot both come from stdin");
    const document = await readDocument(path);
    if (typeof document !== "object" || Array.isArray(document)) throw usageError(`${path}: a manifest is a mapping (id, name, skills, endpoint, ...)`);
    const { signature: _ignored, ...unsigned } = document as Record<string, unknown>;
    const seed = await readAgentKey(flags.key, out.warn);
    const key = klp.keyPairFromSeed(seed);
    seed.fill(0);
    let signed;
    try {
      signed = signAgentManifest(unsigned as UnsignedAgentManifest, key);
    } catch (error) {
      throw usageError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      key.secretKey.fill(0);
    }
    const checked = SignedAgentManifestSchema.safeParse(signed);
    if (!checked.success) throw new CliError(`${path}: not a valid agent manifest; nothing was registered`, "validation_failed", EXIT.validation, fieldErrorsFromZod(checked.error));
    const { agent, created } = await client().agents.register(signed);
    if (out.json) out.document(agent);
    else out.info(`${created ? "registered" : "updated"} agent ${agent.id} (${key.did})`);
  });
}

function listCommand(): Command {
  const command = new Command("list")
    .alias("ls")
    .description("the agents you may see")
    .option("--capability <capability>", "only agents offering this capability")
    .option("--all", "every page, not only the first 100");
  addGlobalOptions(command);
  return command.action(async (flags: { capability?: string; all?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const agents: ServiceRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await client().agents.list({ ...(flags.capability !== undefined ? { capability: flags.capability } : {}), ...(cursor !== undefined ? { cursor } : {}) });
      agents.push(...page.agents);
      cursor = flags.all ? (page.nextCursor ?? undefined) : undefined;
    } while (cursor !== undefined);
    if (out.json) out.document({ agents });
    else out.table(AGENT_HEADERS, agents.map(agentRow), "no agents");
  });
}

function showCommand(): Command {
  const command = new Command("show").description("one agent: its record and skills").argument("<id>", "the agent's id (kClass:name)");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const agent = await client().agents.get(id);
    if (out.json) return out.document(agent);
    const meta = (agent.metadata.agent ?? {}) as { did?: string; source?: string; skills?: Array<{ id: string; capability: string }>; limits?: { maxConcurrentTasks: number } };
    out.line(
      formatKeyValues([
        ["id", agent.id],
        ["name", agent.name],
        ["status", agent.status],
        ["did", cell(meta.did)],
        ["transport", transportOf(agent)],
        ["url", cell(agent.url)],
        ["skills", listCell(meta.skills?.map((skill) => `${skill.id} (${skill.capability})`))],
        ["max tasks", cell(meta.limits?.maxConcurrentTasks)],
        ["owner", agent.owner],
        ["visibility", agent.visibility],
        ["heartbeat", cell(agent.heartbeat)],
      ]).trimEnd(),
    );
  });
}

function removeCommand(): Command {
  const command = new Command("rm").alias("remove").description("remove an agent (owner or admin); its id is then free for another key").argument("<id>", "the agent's id");
  addGlobalOptions(command);
  return command.action(async (id: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().agents.remove(id);
    if (out.json) out.document({ id, removed: true });
    else out.info(`removed agent ${id}`);
  });
}

function statusCommand(): Command {
  const command = new Command("status").description("every agent you may see: status, load (running/limit) and current tasks");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const status = await client().agents.status();
    if (out.json) out.document(status);
    else out.table(STATUS_HEADERS, status.agents.map(statusRow), "no agents");
  });
}

export function agentCommand(): Command {
  return new Command("agent")
    .description("agents of the mesh: keys, signed registration, listing and status; start and stop the agents the node runs")
    .addCommand(keygenCommand())
    .addCommand(registerCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(removeCommand())
    .addCommand(statusCommand())
    .addCommand(addA2aCommand())
    .addCommand(addMcpCommand())
    .addCommand(removeMcpCommand())
    .addCommand(startAgentCommand())
    .addCommand(stopAgentCommand())
    .addCommand(runsCommand());
}
