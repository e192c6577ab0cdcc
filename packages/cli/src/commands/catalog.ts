/**
 * @module commands/catalog
 * The top-level commands, in the order `kai --help` lists them: for each, what that list shows (name, aliases,
 * whether it takes options, its arguments, its description) and how to load the real command. `kai` builds only the
 * command a command line names (its module and what that imports: zod schemas, the SDK, YAML, tar, the server); every
 * other one is a stand-in made from its entry here, so `kai --version`, `kai --help` and `kai serve` start without
 * loading the rest. The entries repeat what each command's module declares; src/program.test.ts checks they agree.
 */
import type { Command } from "commander";

export interface TopLevelCommand {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** The command declares options of its own (the list then shows `[options]`). */
  readonly options?: boolean;
  /** Its arguments as the list shows them, e.g. `<capability>`, `[prompt...]`. */
  readonly args?: readonly string[];
  readonly description: string;
  /** Imports the command's module and builds the whole command. */
  readonly load: () => Promise<Command>;
}

export const TOP_LEVEL_COMMANDS: readonly TopLevelCommand[] = [
  { name: "serve", options: true, description: "run the registry server (logs as JSON lines on stdout and in <data-dir>/logs/)", load: async () => (await import("./serve.js")).serveCommand() },
  { name: "status", options: true, description: "node and registry summary", load: async () => (await import("./status.js")).statusCommand() },
  { name: "doctor", options: true, description: "what on the node needs attention: TLS files, backups, disk space, log files, trace export, vault, first sign-in; every instance's on a node of several (admin; exit 9 when a check fails)", load: async () => (await import("./doctor.js")).doctorCommand() },
  { name: "cluster", options: true, description: "instances of this node, the leader and its jobs, shared database and cache (admin)", load: async () => (await import("./cluster.js")).clusterCommand() },
  { name: "login", options: true, description: "sign in with username and password (asked for, or --password-stdin), or with --sso in a browser, and keep the session (mode 0600) for later commands", load: async () => (await import("./login.js")).loginCommand() },
  { name: "agent-login", options: true, description: "sign an agent in with its Ed25519 key (challenge, signature) and keep the session for later commands", load: async () => (await import("./agent-login.js")).agentLoginCommand() },
  { name: "agent", description: "agents of the mesh: keys, signed registration, listing and status; start and stop the agents the node runs", load: async () => (await import("./agent.js")).agentCommand() },
  { name: "task", description: "tasks run by the node's kCore across agents, tools and gateway capabilities", load: async () => (await import("./task.js")).taskCommand() },
  { name: "prompt", description: "the prompt store: versioned prompts and templates with typed variables, labels, search, render", load: async () => (await import("./prompt.js")).promptCommand() },
  { name: "memory", description: "semantic memory: texts the node embeds and finds again by meaning", load: async () => (await import("./memory.js")).memoryCommand() },
  { name: "artifact", description: "artifact storage: files uploaded to the node, stored once per content, shared by signed links", load: async () => (await import("./artifact.js")).artifactCommand() },
  { name: "events", description: "the orchestration bus: task progress, agent results, registry changes", load: async () => (await import("./events.js")).eventsCommand() },
  { name: "logs", description: "the node's log lines (the same as the files under <dataDir>/logs/)", load: async () => (await import("./logs.js")).logsCommand() },
  { name: "config", description: "the node's configuration: list, get, explain its layers, set at run time (config:admin)", load: async () => (await import("./config.js")).configCommand() },
  { name: "plugin", description: "plugins: what the node found in its plugin folders, their trust levels; sign a plugin folder", load: async () => (await import("./plugin.js")).pluginCommand() },
  { name: "logout", options: true, description: "end the stored session on the server and delete the login file", load: async () => (await import("./logout.js")).logoutCommand() },
  { name: "whoami", options: true, description: "who the current credentials are: user, roles, scopes, expiry", load: async () => (await import("./logout.js")).whoamiCommand() },
  { name: "services", aliases: ["svc"], description: "list, inspect, register and remove services", load: async () => (await import("./services.js")).servicesCommand() },
  { name: "token", aliases: ["tokens"], description: "create, list and revoke access tokens (admin)", load: async () => (await import("./token.js")).tokenCommand() },
  { name: "users", aliases: ["user"], description: "people and agents who sign in (admin)", load: async () => (await import("./users.js")).usersCommand() },
  { name: "roles", aliases: ["role"], description: "roles: named sets of scopes given to users", load: async () => (await import("./roles.js")).rolesCommand() },
  { name: "sessions", aliases: ["session"], description: "list and revoke sign-in sessions", load: async () => (await import("./sessions.js")).sessionsCommand() },
  { name: "mfa", description: "your second factors: TOTP, recovery codes, passkeys", load: async () => (await import("./mfa.js")).mfaCommand() },
  { name: "me", options: true, description: "your own profile, password and personal tokens", load: async () => (await import("./me.js")).meCommand() },
  { name: "security", description: "the security log (admin)", load: async () => (await import("./security.js")).securityCommand() },
  { name: "vault", description: "the credential vault: secrets, lock and unlock, rotation, audit", load: async () => (await import("./vault.js")).vaultCommand() },
  { name: "watch", options: true, description: "print registry events as they happen (time event id status), until Ctrl-C", load: async () => (await import("./watch.js")).watchCommand() },
  { name: "chat", options: true, args: ["[prompt...]"], description: "one chat turn through the gateway, streamed to the terminal", load: async () => (await import("./gateway.js")).chatCommand() },
  { name: "models", options: true, description: "the models this token may use through the gateway (a name routes; <serviceId>/<model> pins a service)", load: async () => (await import("./gateway.js")).modelsCommand() },
  { name: "connectors", options: true, args: ["[id]"], description: "the provider connectors this node has, and per operation the request parameters each honours", load: async () => (await import("./gateway.js")).connectorsCommand() },
  { name: "route", options: true, args: ["<capability>"], description: "route one request for a capability (llm_chat, embeddings, image_generation, vector_storage, …)", load: async () => (await import("./gateway.js")).routeCommand() },
  { name: "peer", aliases: ["peers"], description: "federation peers: nodes whose public records this node imports (scope federation:admin)", load: async () => (await import("./peer.js")).peerCommand() },
  { name: "klp", description: "the node's KLP administration (admin)", load: async () => (await import("./klp.js")).klpCommand() },
  { name: "storage", description: "move a node's data between storage backends", load: async () => (await import("./storage.js")).storageCommand() },
  { name: "backup", description: "encrypted backups of everything the node holds: take, list, verify, download, delete, restore", load: async () => (await import("./backup.js")).backupCommand() },
  { name: "plan", options: true, args: ["<goal...>"], description: "ask the node's planner (kPlanner) for a plan of steps for a goal (scope tasks:run)", load: async () => (await import("./plan.js")).planCommand() },
];

/** The entry `word` names (a name or an alias), as commander finds a subcommand. */
export function topLevelCommandNamed(word: string | undefined): TopLevelCommand | undefined {
  if (word === undefined) return undefined;
  return TOP_LEVEL_COMMANDS.find((entry) => entry.name === word || (entry.aliases ?? []).includes(word));
}
