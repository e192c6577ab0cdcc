/**
 * LAN discovery with two real nodes on this machine (issue 19): both announce `_kai._tcp` by mDNS on the machine's
 * network (not loopback: multicast does not run there), each hears the other with its DID and never itself,
 * `kai peer discover` lists them, `--add` pins the announced DID after checking it against the node's signed
 * document, and a node that stops says goodbye and drops out of the list. A third node with discovery off is
 * neither announced nor able to list; one that listens on loopback only is not announced (nobody could reach it at
 * the addresses mDNS would give) but hears the others. A node on HTTPS whose certificate does not list the address it
 * announced cannot be added by `--add`: the error names the `kai peer add` command that can, with its port and DID.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "@kai/server";
import type { klp } from "@kai/protocol";
import { HAS_OPENSSL, makeTestCa } from "../../server/test/helpers/test-certificates.js";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

interface LanNode {
  url: string;
  port: number;
  token: string;
  did: string;
  dataDir: string;
  close(): Promise<void>;
}

let box: Sandbox;
let a: LanNode;
let b: LanNode;
let quiet: TestServer;

/** A node listening on every interface (the addresses mDNS announces), discovery on. */
async function startLanNode(): Promise<LanNode> {
  const dataDir = mkdtempSync(join(tmpdir(), "kai-lan-"));
  const server = await startServer({ dataDir, port: 0, host: "0.0.0.0", quiet: true, config: { federation: { mdns: { enabled: true } } } });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    port: server.port,
    token: server.adminToken,
    did: server.klp.did,
    dataDir,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function discovered(node: { url: string; token: string }, waitMs = 500): Promise<klp.DiscoveredPeerListResponse> {
  const response = await fetch(`${node.url}/api/peers/discovered?waitMs=${waitMs}`, { headers: { authorization: `Bearer ${node.token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as klp.DiscoveredPeerListResponse;
}

/** Polls until `until` holds for the node's list (mDNS answers arrive within a second or two). */
async function waitForList(node: { url: string; token: string }, until: (list: klp.DiscoveredPeerListResponse) => boolean): Promise<klp.DiscoveredPeerListResponse> {
  const deadline = Date.now() + 20_000;
  let list = await discovered(node);
  while (!until(list) && Date.now() < deadline) list = await discovered(node);
  return list;
}

const kai = (node: { url: string; token: string }, args: string[]) => runKai(["--url", node.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: node.token } });

beforeAll(async () => {
  box = sandbox();
  [a, b, quiet] = await Promise.all([startLanNode(), startLanNode(), startTestServer()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), quiet?.close()]);
  box?.cleanup();
});

describe("LAN discovery by mDNS", () => {
  it("hears the other node with its DID and port, never itself nor a node with discovery off", async () => {
    const list = await waitForList(a, (l) => l.peers.some((p) => p.did === b.did));
    expect(list).toMatchObject({ enabled: true, advertising: true });
    const entry = list.peers.find((p) => p.did === b.did);
    expect(entry, JSON.stringify(list.peers)).toBeDefined();
    expect(new URL(entry!.url).port).toBe(String(b.port));
    expect(entry!.known).toBe(false);
    expect(list.peers.some((p) => p.did === a.did)).toBe(false);
    const quietDid = ((await (await fetch(`${quiet.url}/.well-known/klp.json`)).json()) as { did: string }).did;
    expect(list.peers.some((p) => p.did === quietDid)).toBe(false);
  });

  it("kai peer discover lists the node and --add pins its DID after checking its signed document", async () => {
    const listed = await kai(a, ["peer", "discover", "--wait", "1", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const found = JSON.parse(listed.stdout) as klp.DiscoveredPeerListResponse;
    expect(found.peers.map((p) => p.did)).toContain(b.did);

    const added = await kai(a, ["peer", "discover", "--wait", "0", "--add", b.did, "--yes"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain(`identifies as ${b.did}`);
    const peers = (await (await fetch(`${a.url}/api/peers`, { headers: { authorization: `Bearer ${a.token}` } })).json()) as klp.PeerListResponse;
    expect(peers.peers.map((p) => p.did)).toContain(b.did);
    expect((await discovered(a, 0)).peers.find((p) => p.did === b.did)?.known).toBe(true);

    const unknown = await kai(a, ["peer", "discover", "--wait", "0", "--add", "no-such-node", "--yes"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("no node named or identified no-such-node");
  });

  it("does not announce a node that listens on loopback only (nobody could reach it there), which still hears the others", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "kai-lan-loopback-"));
    const lines: string[] = [];
    const logDestination = { write: (line: string) => void lines.push(line) };
    const loopback = await startServer({ dataDir, port: 0, host: "127.0.0.1", quiet: true, logDestination, config: { federation: { mdns: { enabled: true } } } });
    try {
      const node = { url: `http://127.0.0.1:${loopback.port}`, token: loopback.adminToken };
      let heard = await discovered(node, 1000);
      for (let tries = 0; tries < 10 && !heard.peers.some((p) => p.did === a.did); tries++) heard = await discovered(node, 1000);
      expect(heard).toMatchObject({ enabled: true, advertising: false });
      expect(heard.peers.map((p) => p.did)).toContain(a.did);
      // Had it announced itself, `a` would have heard it in the time the loopback node took to hear `a`.
      const fromA = await discovered(a, 1000);
      expect(fromA.peers.some((p) => p.did === loopback.klp.did)).toBe(false);
      expect(lines.join("")).toContain("mDNS: this node is not announced, because it listens on loopback only");
      // The CLI says so beside its table.
      const said = await kai(node, ["peer", "discover", "--wait", "1"]);
      expect(said.code, said.stderr).toBe(0);
      expect(said.stderr).toContain("this node is not announced on the LAN");
      const empty = await kai(node, ["peer", "discover", "--wait", "0", "--add", " ", "--yes"]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain("--add takes the DID or the name");
    } finally {
      await loopback.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HAS_OPENSSL)("--add of an HTTPS node whose certificate does not list the announced address names the kai peer add command that adds it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kai-lan-tls-"));
    const ca = makeTestCa(dir);
    // Made for this machine's loopback names only: the LAN address mDNS announces is not among them.
    ca.issue("node", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    const mdns = { mdns: { enabled: true } };
    const secure = await startServer({ dataDir: join(dir, "secure"), port: 0, host: "0.0.0.0", quiet: true, config: { server: { tls: { certFile: ca.file("node.pem"), keyFile: ca.file("node.key") } }, federation: mdns } });
    // The node adding it trusts the peer's CA (its federation.tls.caFile), as the error of an untrusted one says to.
    const hearer = await startServer({ dataDir: join(dir, "hearer"), port: 0, host: "0.0.0.0", quiet: true, config: { federation: { ...mdns, tls: { caFile: ca.file("ca.pem") } } } });
    try {
      const node = { url: `http://127.0.0.1:${hearer.port}`, token: hearer.adminToken };
      const did = secure.klp.did;
      const heard = await waitForList(node, (l) => l.peers.some((p) => p.did === did));
      const announced = heard.peers.find((p) => p.did === did);
      expect(announced?.url, JSON.stringify(heard.peers)).toMatch(/^https:\/\//);
      const withCa = (args: string[]) => runKai(["--url", node.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: node.token, KAI_CA_FILE: ca.file("ca.pem") } });

      const refused = await withCa(["peer", "discover", "--wait", "0", "--add", did, "--yes"]);
      expect(refused.code).toBe(7);
      expect(refused.stderr).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
      expect(refused.stderr).toContain("its certificate lists (DNS:localhost, IP:127.0.0.1)");
      expect(refused.stderr).toContain(`with kai peer add https://<a name the certificate lists>:${secure.port} --did ${did}, or have the peer's certificate reissued for`);
      expect(refused.stderr).not.toContain("in the URL given to this command");

      // The command as printed, with a name the certificate lists in place of the placeholder, adds the node.
      const added = await withCa(["peer", "add", `https://localhost:${secure.port}`, "--did", did]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain(`added peer ${did}`);
      expect(added.stderr).not.toContain("warning:");
    } finally {
      await Promise.all([secure.close(), hearer.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says so on a node with discovery off, and refuses a wait out of range", async () => {
    const off = await kai({ url: quiet.url, token: quiet.adminToken }, ["peer", "discover", "--wait", "0"]);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("federation.mdns.enabled");
    const response = await fetch(`${quiet.url}/api/peers/discovered?waitMs=60000`, { headers: { authorization: `Bearer ${quiet.adminToken}` } });
    expect(response.status).toBe(400);
  });

  it("drops a node that stops (its goodbye reaches the others)", async () => {
    const bDid = b.did;
    await b.close();
    b = undefined as never;
    const list = await waitForList(a, (l) => !l.peers.some((p) => p.did === bDid));
    expect(list.peers.some((p) => p.did === bDid)).toBe(false);
  });
});
