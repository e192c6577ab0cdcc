/**
 * @module commands/peer
 * `kai peer add|list|rm|trust|sync|discover` (scope `federation:admin`): the nodes this one imports public records
 * from. `add` shows the DID the peer's signed node document names and asks before pinning it (on a
 * terminal); scripts pass `--did` to pin a DID they already know, or `--yes` to accept what is shown. It then waits
 * a few seconds for the node's first session to the peer and warns when the peer refused it (a client certificate
 * it needs, a CA this node lacks): the pin stays and the link keeps retrying, but an add that printed only "added"
 * left the operator to find out later from `kai peer show`. `discover` lists the nodes heard on the LAN (mDNS) and
 * adds one the same way; one whose certificate does not list the address it announced can only be added by a name the
 * certificate lists, which the error says with the `peer add` command to run.
 */
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { fieldErrorsFromZod, klp } from "@kai/protocol";
import { describeConnectionFailure, inspectNode, type KaiClient } from "@kai/sdk";
import { addGlobalOptions, contextOf } from "../command-kit.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { certificateNames, describeNames } from "../certificate-names.js";
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

/**
 * Why the peer's node document could not be read from here: fetch's own "fetch failed" says nothing, so the reason
 * under it, in the peer's terms (the URL argument, `--ca-file` for this check and federation.tls.caFile for the node),
 * not those of the CLI's own node (`--url`, its banner).
 */
async function whyUnread(error: unknown, url: string): Promise<string> {
  const { explainPeerConnectionFailure } = await import("../tls-diagnosis.js");
  return (await explainPeerConnectionFailure(error, url)) ?? describeConnectionFailure(error, url).replace(/^the node's/, "the peer's");
}

/** A TLS error's certificate as Node gives it (`checkServerIdentity`'s error carries the peer's certificate). */
interface NameCheckFailure {
  code?: unknown;
  cert?: { subjectaltname?: string; subject?: { CN?: string } };
}

/** The error on `error`'s `cause` chain that says the certificate is not made for the host asked for. */
function nameCheckFailure(error: unknown): NameCheckFailure | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if ((current as NameCheckFailure).code === "ERR_TLS_CERT_ALTNAME_INVALID") return current as NameCheckFailure;
  }
  return undefined;
}

/**
 * `discover --add` read the node at the address it announced, which its certificate does not list: the node can only
 * be added by a name the certificate lists, with `peer add` (discover takes no URL). The command to run, with the
 * announced port and DID: its mDNS host name or another address it announced when the certificate lists one, else a
 * placeholder beside the names the certificate lists. Undefined for any other failure.
 */
function notListedAdvice(error: unknown, candidate: klp.DiscoveredPeer): string | undefined {
  const failure = nameCheckFailure(error);
  // The announcement's addresses are what other nodes sent: one that is no URL gets the general words.
  const urlOf = (text: string) => {
    try {
      return new URL(text);
    } catch {
      return undefined;
    }
  };
  const announced = urlOf(candidate.url);
  if (!failure || !announced) return undefined;
  const names = certificateNames(failure.cert?.subjectaltname, failure.cert?.subject?.CN);
  const mdnsHost = candidate.host.replace(/\.$/, "").toLowerCase();
  const listedHost = names.dns.some((name) => name.toLowerCase() === mdnsHost) && mdnsHost !== "" ? mdnsHost : undefined;
  const listedUrl = candidate.urls.map(urlOf).find((url) => url !== undefined && names.ips.includes(url.hostname));
  const host = listedHost ?? listedUrl?.hostname ?? "<a name the certificate lists>";
  const listed = describeNames(names);
  return [
    describeConnectionFailure(error, candidate.url).replace(/^the node's/, "the peer's"),
    `; add it by a name its certificate lists${listed !== "" ? ` (${listed})` : ""} with kai peer add ${announced.protocol}//${host}:${announced.port || "443"} --did ${candidate.did}`,
    `, or have the peer's certificate reissued for ${announced.hostname}`,
  ].join("");
}

/** How long `peer add` waits for the first session to the peer: a handshake and a first pull take well under a second. */
const FIRST_ATTEMPT_WAIT_MS = 5000;
const FIRST_ATTEMPT_POLL_MS = 200;

/**
 * The peer once its link has connected or failed once, or as it is after `FIRST_ATTEMPT_WAIT_MS` (undecided: a slow
 * peer). A peer listed untrusted has no link to wait for.
 */
async function afterFirstAttempt(client: KaiClient, peer: klp.PeerInfo): Promise<klp.PeerInfo> {
  if (!peer.trusted) return peer;
  const deadline = Date.now() + FIRST_ATTEMPT_WAIT_MS;
  let current = peer;
  while (current.state !== "connected" && current.lastError === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, FIRST_ATTEMPT_POLL_MS));
    try {
      current = await client.peers.get(peer.did);
    } catch {
      // The add is done either way (a peer removed meanwhile answers 404, a blip no answer): the wait is only a look
      // at the first session, and its verdict is then unknown, which is not a failure of the add.
      return current;
    }
  }
  return current;
}

/** The warning for a peer whose first session failed; undefined when it connected (or is still trying). */
function firstAttemptWarning(peer: klp.PeerInfo): string | undefined {
  if (peer.state === "connected" || peer.lastError === null) return undefined;
  return `the first connection to the peer failed: ${peer.lastError}; the peer is pinned and the link keeps retrying (kai peer show ${peer.did})`;
}

function addCommand(): Command {
  const command = new Command("add")
    .description("import public records from another node; shows its DID to confirm before pinning it")
    .argument("<url>", "the peer's base URL, e.g. http://10.0.0.2:7070")
    .option("--did <did>", "pin this DID: refused if the node at <url> is someone else")
    .option("--name <name>", "a name to recognise the peer by")
    .option("--untrusted", "list the peer without importing from it yet (trust it later with `kai peer trust`)")
    .option("-y, --yes", "accept the DID the peer's document names without asking")
    .option("--no-wait", "return at once, without waiting a few seconds for the first connection to the peer");
  addGlobalOptions(command);
  return command.action(async (url: string, flags: { did?: string; name?: string; untrusted?: boolean; yes?: boolean; wait: boolean }, self: Command) => {
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
      const identity = await inspectNode(url).catch(async (error: unknown) => {
        throw new CliError(`cannot read the peer's node document: ${await whyUnread(error, url)}`, "peer_unreachable", EXIT.unreachable);
      });
      out.info(`${url} identifies as ${identity.did} (${identity.name}, ${identity.version})`);
      if (!flags.yes) {
        if (!process.stdin.isTTY) throw usageError("not a terminal: confirm the DID with --did <did>, or accept it with --yes");
        if (!(await confirm("Pin this DID and import from this node? [y/N] "))) throw new CliError("not added", "cancelled", EXIT.usage);
      }
      parsed.data.did = identity.did;
    }
    const added = await client().peers.add(parsed.data);
    const peer = flags.wait ? await afterFirstAttempt(client(), added.peer) : added.peer;
    const warning = firstAttemptWarning(peer);
    if (out.json) out.document(peer);
    else out.info(`${added.created ? "added" : "updated"} peer ${peer.did}${peer.trusted ? "" : " (untrusted: nothing is imported)"}`);
    if (warning) out.warn(warning);
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
    .option("-y, --yes", "with --add: accept the DID without asking")
    .addHelpText("after", "\nWith --add, it then waits up to 5 s for the node's first session to the peer, as `peer add` does (use `peer add <url> --did <did> --no-wait` not to wait).");
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
      // Listening is not announcing: a node on a loopback address (or with federation.mdns.advertise false) is heard by
      // no one, which the table alone does not say.
      if (!out.json && !found.advertising) {
        out.info("this node is not announced on the LAN, so other nodes do not hear it (it listens on a loopback address only, or federation.mdns.advertise is false)");
      }
      return;
    }
    const wanted = flags.add.trim();
    if (wanted === "") throw usageError("--add takes the DID or the name of a node heard on the LAN");
    const candidate = found.peers.find((peer) => peer.did === wanted || peer.name === wanted);
    if (!candidate) throw new CliError(`no node named or identified ${wanted} was heard on the LAN`, "not_found", EXIT.notFound);
    // The announcement is unauthenticated: the node at the address must sign as the DID announced.
    const identity = await inspectNode(candidate.url).catch(async (error: unknown) => {
      const reason = notListedAdvice(error, candidate) ?? (await whyUnread(error, candidate.url));
      throw new CliError(`cannot read the node document at ${candidate.url}: ${reason}`, "peer_unreachable", EXIT.unreachable);
    });
    if (identity.did !== candidate.did) throw new CliError(`the node at ${candidate.url} identifies as ${identity.did}, not the announced ${candidate.did}: not added`, "peer_identity_mismatch", EXIT.unexpected);
    out.info(`${candidate.url} identifies as ${identity.did} (${identity.name}, ${identity.version})`);
    if (!flags.yes) {
      if (!process.stdin.isTTY) throw usageError("not a terminal: accept the DID with --yes");
      if (!(await confirm("Pin this DID and import from this node? [y/N] "))) throw new CliError("not added", "cancelled", EXIT.usage);
    }
    const added = await client().peers.add({ url: candidate.url, did: identity.did, name: candidate.name });
    const peer = await afterFirstAttempt(client(), added.peer);
    const warning = firstAttemptWarning(peer);
    if (out.json) out.document(peer);
    else out.info(`${added.created ? "added" : "updated"} peer ${peer.did}`);
    if (warning) out.warn(warning);
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
