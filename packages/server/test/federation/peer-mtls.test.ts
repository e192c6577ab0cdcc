// mTLS between nodes (issue 19, `server.tls.clientCertificates: peers` with `federation.tls`): real nodes on loopback
// with certificates from a test CA made by the openssl program. A node that asks peers for a client certificate is
// federated with by a node that presents one (its own server certificate, by default) and imports its public
// records over WSS; a node that trusts the CA but presents no certificate is refused by KLP's routes (the peer shows
// the 401 as its last error and imports nothing); a node that does not trust the CA cannot add it at all (the
// certificate is verified, never skipped). The client side reads renewed files without a restart.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// undici's own fetch: it takes undici's Agent as its dispatcher (the nodes' API is HTTPS with the test CA).
import { Agent, fetch } from "undici";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, type ServiceRecord } from "@kai/protocol";
import { PeerTls } from "../../src/klp/peer-tls.js";
import { TlsCertificates } from "../../src/http/tls-certificates.js";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { HAS_OPENSSL, makeTestCa } from "../helpers/test-certificates.js";
import { FAST_FEDERATION, eventually } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "kai-peer-mtls-"));
const file = (name: string) => join(dir, name);

/** A node's key and certificate, signed by the test CA, good as a server's and as a client's: `name.key`, `name.pem`. */
const NODE_CERTIFICATE = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n";

let trustingCa: Agent;
/** A call to a node's API over HTTPS (or HTTP), trusting the test CA, with the node's admin token. */
async function api(node: TestServer, path: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(node.url + path, {
    method: init.method ?? "GET",
    dispatcher: trustingCa,
    headers: { authorization: `Bearer ${node.adminToken}`, ...(init.json !== undefined ? { "content-type": "application/json" } : {}) },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const remoteIds = async (node: TestServer) => ((await api(node, "/api/services?location=remote")).body as { services: ServiceRecord[] }).services.map((record) => record.id);

let asking: TestServer;
let presenting: TestServer;
let withoutCertificate: TestServer;
let notTrusting: TestServer;

beforeAll(async () => {
  if (!HAS_OPENSSL) return;
  const testCa = makeTestCa(dir);
  testCa.issue("node-a", "/CN=node-a", NODE_CERTIFICATE);
  testCa.issue("node-b", "/CN=node-b", NODE_CERTIFICATE);
  trustingCa = new Agent({ connect: { ca: readFileSync(file("ca.pem")) } });
  const federation = FAST_FEDERATION;
  [asking, presenting, withoutCertificate, notTrusting] = await Promise.all([
    // Asks every client for a certificate; KLP's routes need one signed by the CA.
    startTestServer({ config: { federation, server: { tls: { certFile: file("node-a.pem"), keyFile: file("node-a.key"), caFile: file("ca.pem"), clientCertificates: "peers" } } } }),
    // No federation.tls: its own certificate is its client certificate, its caFile the peers' CA.
    startTestServer({ config: { federation, server: { tls: { certFile: file("node-b.pem"), keyFile: file("node-b.key"), caFile: file("ca.pem") } } } }),
    startTestServer({ config: { federation: { ...federation, tls: { caFile: file("ca.pem") } } } }),
    startTestServer({ config: { federation } }),
  ]);
  const registered = await api(asking, "/api/services/register", { method: "POST", json: registration({ id: "a-public", visibility: "public" }) });
  expect(registered.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.all([asking, presenting, withoutCertificate, notTrusting].map((node) => node?.dispose()));
  await trustingCa?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!HAS_OPENSSL)("mTLS between nodes", () => {
  it("a node presenting a certificate signed by the CA federates with a node that asks for one, over WSS", async () => {
    const added = await api(presenting, "/api/peers", { method: "POST", json: { url: asking.url } });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const peer = klp.PeerInfoSchema.parse(added.body);
    await eventually(() => remoteIds(presenting), (ids) => ids.includes("a-public"));
    const state = klp.PeerInfoSchema.parse((await api(presenting, `/api/peers/${encodeURIComponent(peer.did)}`)).body);
    expect(state).toMatchObject({ state: "connected", lastError: null });
  });

  it("a node that trusts the CA but presents no certificate is refused by KLP's routes and imports nothing", async () => {
    // The node document is public: adding works, the link does not.
    const added = await api(withoutCertificate, "/api/peers", { method: "POST", json: { url: asking.url } });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const did = klp.PeerInfoSchema.parse(added.body).did;
    const refused = await eventually(
      async () => klp.PeerInfoSchema.parse((await api(withoutCertificate, `/api/peers/${encodeURIComponent(did)}`)).body),
      (peer) => peer.lastError !== null,
    );
    expect(refused.state).not.toBe("connected");
    expect(refused.lastError).toContain("401");
    expect(await remoteIds(withoutCertificate)).toEqual([]);
  });

  it("KLP over HTTPS presents the certificate too: a discovery by POST /klp/message is answered", async () => {
    const session = await presenting.klp.connect(asking.url, "http");
    try {
      expect((await session.discover({})).map((entry) => entry.serviceId)).toContain("a-public");
    } finally {
      await session.close();
    }
    // Without one, the answer is the route's 401 (an API error, not a KLP reply): the session says so.
    const bare = await withoutCertificate.klp.connect(asking.url, "http");
    try {
      await expect(bare.discover({})).rejects.toThrow();
    } finally {
      await bare.close();
    }
  });

  it("a node that does not trust the peer's CA cannot add it: the peer's certificate is verified", async () => {
    const added = await api(notTrusting, "/api/peers", { method: "POST", json: { url: asking.url } });
    expect(added.status).toBe(502);
    expect((added.body as { error: { code: string } }).error.code).toBe("peer_unreachable");
  });

  it("refuses a key that is not its certificate's, naming the setting, before any peer sees it", () => {
    expect(() => new PeerTls({ certFile: file("node-a.pem"), keyFile: file("node-b.key") }, pino({ level: "silent" }))).toThrow(
      `federation.tls.keyFile ${file("node-b.key")} is not the private key of federation.tls.certFile ${file("node-a.pem")}`,
    );
    expect(() => new PeerTls({ caFile: file("node-a.key") }, pino({ level: "silent" }))).toThrow(`federation.tls.caFile ${file("node-a.key")} holds no PEM certificate`);
  });

  it("reads renewed client certificate files without a restart, and reports what is in use and a change that did not load", async () => {
    copyFileSync(file("node-a.pem"), file("live.pem"));
    copyFileSync(file("node-a.key"), file("live.key"));
    const certificates = new TlsCertificates();
    const tls = new PeerTls({ certFile: file("live.pem"), keyFile: file("live.key"), caFile: file("ca.pem") }, pino({ level: "silent" }), certificates);
    const presented = () => certificates.status()?.certificates.map((certificate) => `${certificate.setting} ${certificate.subject}`);
    try {
      expect(tls.socketOptions().cert?.equals(readFileSync(file("node-a.pem")))).toBe(true);
      expect(presented()).toEqual(["federation.tls.certFile CN=node-a"]);
      expect(certificates.status()?.notReloaded).toEqual([]);
      // The CA is added to the system's roots, not put in their place.
      expect(tls.socketOptions().ca!.length).toBeGreaterThan(1);
      copyFileSync(file("node-b.key"), file("live.key"));
      copyFileSync(file("node-b.pem"), file("live.pem"));
      await eventually(async () => tls.socketOptions().cert?.equals(readFileSync(file("node-b.pem"))), (renewed) => renewed === true);
      await eventually(async () => presented()?.[0], (subject) => subject === "federation.tls.certFile CN=node-b");
      // A key that is not the certificate's: the last good pair stays, and the status says the change did not load.
      copyFileSync(file("node-a.key"), file("live.key"));
      await eventually(async () => certificates.status()?.notReloaded, (failing) => failing?.[0] === "federation.tls");
      expect(certificates.lastReloadSucceeded("federation.tls")).toBe(false);
      expect(tls.socketOptions().cert?.equals(readFileSync(file("node-b.pem")))).toBe(true);
      expect(presented()).toEqual(["federation.tls.certFile CN=node-b"]);
      copyFileSync(file("node-a.pem"), file("live.pem"));
      await eventually(async () => certificates.status()?.notReloaded, (failing) => failing?.length === 0);
      expect(presented()).toEqual(["federation.tls.certFile CN=node-a"]);
    } finally {
      tls.close();
    }
  });
});
