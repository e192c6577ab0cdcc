/**
 * @module commands/peer
 * `kai peer add|list|rm|trust|sync|discover` (scope `federation:admin`): the nodes this one imports public records
 * from. `add` shows the DID the peer's signed node document names and asks before pinning it (on a
 * terminal); scripts pass `--did` to pin a DID they already know, or `--yes` to accept what is shown. `discover`
 * lists the nodes heard on the LAN (mDNS) and adds one the same way.
 */
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { fieldErrorsFromZod, klp } from "@kai/protocol";
import { inspectNode } from "@kai/sdk";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { formatKeyValues } from "../output.js";
import { describePeer, peerRow, PEER_HEADERS } from "./peer-format.js";

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function addCommand(): Command {
  const command = new Command("add")
    .description("import public records from another node; shows its DID to confirm before pinning it")
    .argument("<url>", "the peer's base URL, e.g. http://10.0.0.2:7070")
    .option("--did <did>", "pin this DID: refused if the node at <url> is someone else")
    .option("--name <name>", "a name to recognise the peer by")
    .option("--untrusted", "list the peer without importing from it yet (trust it later with `kai peer trust`)")
    .option("-y, --yes", "accept the DID the peer's document names without asking");
  addGlobalOptions(command);
  return command.action(async (url: string, flags: { did?: string; name?: string; untrusted?: boolean; yes?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const request = {
      url,
      ...(flags.did !== undefined ? { did: flags.did } : {}),
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.untrusted ? { trusted: false } : {}),
    };
    const parsed = klp.AddPeerRequestSchema.safeParse(request);
    if (!parsed.success) throw usageError("invalid peer", fieldErrorsFromZod(parsed.error).map((d) => ({ ...d, path: d.path === "url" ? "<url>" : `--${d.path}` })));
    if (flags.did === undefined) {
      // Trust on first use is only as good as the look at the DID: show it, and ask unless told not to.
      const identity = await inspectNode(url).catch((error: unknown) => {
        throw new CliError(`cannot read the peer's node document: ${error instanceof Error ? error.message : String(error)}`, "peer_unreachable", EXIT.unreachable);
      });
      out.info(`${url} identifies as ${identity.did} (${identity.name}, ${identity.version})`);
      if (!flags.yes) {
        if (!process.stdin.isTTY) throw usageError("not a terminal: confirm the DID with --did <did>, or accept it with --yes");
        if (!(await confirm("Pin this DID and import from this node? [y/N] "))) throw new CliError("not added", "cancelled", EXIT.usage);
      }
      parsed.data.did = identity.did;
    }
    const { peer, created } = await client().peers.add(parsed.data);
    if (out.json) out.document(peer);
    else out.info(`${created ? "added" : "updated"} peer ${peer.did}${peer.trusted ? "" : " (untrusted: nothing is imported)"}`);
  });
}

function listCommand(): Command {
  const command = new Command("list").alias("ls").description("peers with their liveness and sync state");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const peers = await client().peers.list();
    if (out.json) out.document({ peers });
    else out.table(PEER_HEADERS, peers.map(peerRow), "no peers (kai peer add, or kai peer discover on the LAN)");
  });
}

function showCommand(): Command {
  const command = new Command("show").description("one peer's sync state").argument("<did>", "the peer's DID");
  addGlobalOptions(command);
  return command.action(async (did: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const peer = await client().peers.get(did);
    if (out.json) out.document(peer);
    else out.line(formatKeyValues(describePeer(peer)).trimEnd());
  });
}

function removeCommand(): Command {
  const command = new Command("rm").alias("remove").description("remove a peer and every record imported from it").argument("<did>", "the peer's DID");
  addGlobalOptions(command);
  return command.action(async (did: string, _flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    await client().peers.remove(did);
    if (out.json) out.document({ did, removed: true });
    else out.info(`removed peer ${did}`);
  });
}

function trustCommand(): Command {
  const command = new Command("trust")
    .description("trust a peer (import from it), or --withdraw trust (its records are dropped and its link cut; it stays listed)")
    .argument("<did>", "the peer's DID")
    .option("--withdraw", "withdraw trust instead");
  addGlobalOptions(command);
  return command.action(async (did: string, flags: { withdraw?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const peer = await client().peers.setTrusted(did, !flags.withdraw);
    if (out.json) out.document(peer);
    else out.info(`${peer.trusted ? "trusting" : "no longer trusting"} ${peer.did}`);
  });
}

function syncCommand(): Command {
  const command = new Command("sync").description("pull from every connected peer now; prints their state when caught up");
  addGlobalOptions(command);
  return command.action(async (_flags: unknown, self: Command) => {
    const { out, client } = contextOf(self);
    const peers = await client().peers.sync();
    if (out.json) out.document({ peers });
    else out.table(PEER_HEADERS, peers.map(peerRow), "no peers to sync");
  });
}

function discoverCommand(): Command {
  const command = new Command("discover")
    .description("nodes heard on the LAN by mDNS (federation.mdns.enabled); --add one to pin its DID as `peer add` does")
    .option("--wait <seconds>", "ask the LAN again and wait this long for answers (0-5)", "2")
    .option("--add <did-or-name>", "add this discovered node as a peer (its DID is checked against its signed node document)")
    .option("-y, --yes", "with --add: accept the DID without asking");
  addGlobalOptions(command);
  return command.action(async (flags: { wait: string; add?: string; yes?: boolean }, self: Command) => {
    const { out, client } = contextOf(self);
    const seconds = Number(flags.wait);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 5) throw usageError("--wait takes 0 to 5 seconds");
    const found = await client().peers.discovered({ waitMs: seconds * 1000 });
    if (!found.enabled) throw new CliError("LAN discovery is off on this node: set federation.mdns.enabled to true", "discovery_off", EXIT.usage);
    if (flags.add === undefined) {
      if (out.json) out.document(found);
      else out.table(["NAME", "DID", "URL", "PEER"], found.peers.map((peer) => [peer.name, peer.did, peer.url, peer.known ? "yes" : "no"]), "no other node heard on the LAN");
      return;
    }
    const wanted = flags.add;
    const candidate = found.peers.find((peer) => peer.did === wanted || peer.name === wanted);
    if (!candidate) throw new CliError(`no node named or identified ${wanted} was heard on the LAN`, "not_found", EXIT.notFound);
    // The announcement is unauthenticated: the node at the address must sign as the DID announced.
    const identity = await inspectNode(candidate.url).catch((error: unknown) => {
      throw new CliError(`cannot read the node document at ${candidate.url}: ${error instanceof Error ? error.message : String(error)}`, "peer_unreachable", EXIT.unreachable);
    });
    if (identity.did !== candidate.did) throw new CliError(`the node at ${candidate.url} identifies as ${identity.did}, not the announced ${candidate.did}: not added`, "peer_identity_mismatch", EXIT.unexpected);
    out.info(`${candidate.url} identifies as ${identity.did} (${identity.name}, ${identity.version})`);
    if (!flags.yes) {
      if (!process.stdin.isTTY) throw usageError("not a terminal: accept the DID with --yes");
      if (!(await confirm("Pin this DID and import from this node? [y/N] "))) throw new CliError("not added", "cancelled", EXIT.usage);
    }
    const { peer, created } = await client().peers.add({ url: candidate.url, did: identity.did, name: candidate.name });
    if (out.json) out.document(peer);
    else out.info(`${created ? "added" : "updated"} peer ${peer.did}`);
  });
}

export function peerCommand(): Command {
  return new Command("peer")
    .alias("peers")
    .description("federation peers: nodes whose public records this node imports (scope federation:admin)")
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(removeCommand())
    .addCommand(trustCommand())
    .addCommand(syncCommand())
    .addCommand(discoverCommand());
}
