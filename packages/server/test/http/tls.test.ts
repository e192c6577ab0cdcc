// TLS terminated by the node (issue 19, server.tls): a real node with a certificate signed by a test CA (made with
// the openssl program) answers over HTTPS only to clients that trust that CA; a renewed certificate written over the
// files is served to new connections without a restart, but one expired or not valid yet is refused as a file that
// does not load (one not valid yet taken when its time comes), and stops a start before the data directory is made;
// with clientCertificates: peers, KLP's routes need a client certificate signed by the CA while the rest of the API
// does not; the built `kai` trusts the CA with --ca-file and says what to do when a connection fails on TLS (the CA
// to give, the scheme to use); the SDK (`@kai/sdk/node`'s nodeTls) trusts it and shows a client certificate for REST
// calls, watch() and a KLP agent.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, copyFileSync, symlinkSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { createServer as createHttpsServer, get, type Server as HttpsServer } from "node:https";
import { join } from "node:path";
import { connect, rootCertificates } from "node:tls";
import { fileURLToPath } from "node:url";
// undici's own fetch: it takes undici's Agent as its dispatcher (the global fetch's types know no dispatcher).
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DoctorResponseSchema, klp, StatusResponseSchema } from "@kai/protocol";
import { createClient, KaiConnectionError, type Watcher } from "@kai/sdk";
import { createKlpAgent } from "../../../sdk/src/agent-runtime/index.js";
import { nodeTls } from "../../../sdk/src/node-tls/index.js";
import { certificateTrust, clientCertificateHint } from "../../../cli/src/certificate-trust.js";
import { eventually, startTestServer, type TestServer } from "../helpers/test-server.js";
import { HAS_OPENSSL, makeTestCa, type TestCa } from "../helpers/test-certificates.js";
import { sampleOf } from "../helpers/exposition.js";
import { refusalWarnThrottle } from "../../src/http/tls-server.js";
import { explainPeerConnectionFailure } from "../../../cli/src/tls-diagnosis.js";

const CLI = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "kai-tls-"));
const file = (name: string) => join(dir, name);
let testCa: TestCa;
const issue = (name: string, subject: string, extensions: string, validity?: { from: Date; to: Date }) => testCa.issue(name, subject, extensions, validity);

/** The serial number of the certificate the server presents to a new connection. */
function servedSerial(port: number, ca: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on("error", reject);
  });
}

/**
 * The built `kai` with `node`'s admin token and no TLS settings from this process's environment. Spawned without
 * blocking: the node runs in this process and must answer meanwhile.
 */
function kaiAs(node: TestServer, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, KAI_TOKEN: node.adminToken, KAI_CA_FILE: "", KAI_CLIENT_CERT: "", KAI_CLIENT_KEY: "" };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const SERVER_EXTENSIONS = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
const DAY_MS = 86_400_000;

/** A plain Node HTTPS server on loopback with `name.pem`/`name.key` (a certificate the node itself would not load). */
async function httpsServerWith(name: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: HttpsServer = createHttpsServer({ cert: readFileSync(file(`${name}.pem`)), key: readFileSync(file(`${name}.key`)) }, (_request, response) => response.end("{}"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `https://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let ca: string;
let node: TestServer;
let plainNode: TestServer;
let peersNode: TestServer;
let allNode: TestServer;

beforeAll(async () => {
  if (!HAS_OPENSSL) return;
  testCa = makeTestCa(dir);
  issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  issue("client", "/CN=peer-node", "extendedKeyUsage=clientAuth\n");
  issue("expired", "/CN=localhost", SERVER_EXTENSIONS, { from: new Date(Date.now() - 3 * DAY_MS), to: new Date(Date.now() - DAY_MS) });
  issue("future", "/CN=localhost", SERVER_EXTENSIONS, { from: new Date(Date.now() + DAY_MS), to: new Date(Date.now() + 3 * DAY_MS) });
  issue("elsewhere", "/CN=elsewhere.example", "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n");
  // Self-signed, no CA at all.
  testCa.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1");
  copyFileSync(file("server.pem"), file("live.pem"));
  copyFileSync(file("server.key"), file("live.key"));
  ca = (await import("node:fs")).readFileSync(file("ca.pem"), "utf8");
  node = await startTestServer({ config: { server: { tls: { certFile: file("live.pem"), keyFile: file("live.key") } } } });
  peersNode = await startTestServer({ config: { server: { tls: { certFile: file("server.pem"), keyFile: file("server.key"), caFile: file("ca.pem"), clientCertificates: "peers" } } } });
  allNode = await startTestServer({ config: { server: { tls: { certFile: file("server.pem"), keyFile: file("server.key"), caFile: file("ca.pem"), clientCertificates: "all" } } } });
  plainNode = await startTestServer();
}, 60_000);

afterAll(async () => {
  await node?.dispose();
  await peersNode?.dispose();
  await allNode?.dispose();
  await plainNode?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!HAS_OPENSSL)("TLS terminated by the node", () => {
  it("serves HTTPS to clients that trust its CA, and to no other", async () => {
    expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // Fastify's own line about the address names the scheme served too (it said http:// on an HTTPS node).
    expect(node.logs.filter((line) => line.includes("Server listening at")).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([`Server listening at ${node.url}`]);
    const trusting = new Agent({ connect: { ca } });
    const health = await fetch(`${node.url}/healthz`, { dispatcher: trusting });
    expect(health.status).toBe(200);
    const status = await fetch(`${node.url}/api/status`, { dispatcher: trusting, headers: { authorization: `Bearer ${node.adminToken}` } });
    expect(status.status).toBe(200);
    // The system's roots alone do not know the test CA: the certificate is verified, not waved through.
    await expect(fetch(`${node.url}/healthz`)).rejects.toThrow();
    await trusting.close();
  });

  it("serves a renewed certificate to new connections without a restart", async () => {
    const port = Number(new URL(node.url).port);
    const before = await servedSerial(port, ca);
    issue("renewed", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    // Key first, then certificate, as a renewal tool writes them; the watcher waits for the pair to settle.
    copyFileSync(file("renewed.key"), file("live.key"));
    copyFileSync(file("renewed.pem"), file("live.pem"));
    const after = await eventually(async () => {
      const serial = await servedSerial(port, ca);
      return serial !== before ? serial : undefined;
    }, 10_000);
    expect(after).not.toBe(before);
    expect(node.logs.some((line) => line.includes("TLS certificate reloaded"))).toBe(true);
    // Said once: the same files shown to peers (no federation.tls section) reload without a second line at info.
    const peerLines = node.logs.filter((line) => line.includes("federation TLS files")).map((line) => (JSON.parse(line) as { level: number }).level);
    expect(peerLines.filter((level) => level >= 30)).toEqual([]);
  });

  it("serves a certificate renewed behind symbolic links into other folders (certbot's live/ and archive/)", async () => {
    // The node's config names /…/etc-kai/cert.pem → /…/le/live/host/fullchain.pem → ../../archive/host/fullchain1.pem.
    const le = file("le");
    for (const folder of ["archive/host", "live/host"]) mkdirSync(join(le, folder), { recursive: true });
    mkdirSync(file("etc-kai"));
    copyFileSync(file("server.pem"), join(le, "archive/host/fullchain1.pem"));
    copyFileSync(file("server.key"), join(le, "archive/host/privkey1.pem"));
    symlinkSync("../../archive/host/fullchain1.pem", join(le, "live/host/fullchain.pem"));
    symlinkSync("../../archive/host/privkey1.pem", join(le, "live/host/privkey.pem"));
    symlinkSync(join(le, "live/host/fullchain.pem"), file("etc-kai/cert.pem"));
    symlinkSync(join(le, "live/host/privkey.pem"), file("etc-kai/key.pem"));
    const linked = await startTestServer({ config: { server: { tls: { certFile: file("etc-kai/cert.pem"), keyFile: file("etc-kai/key.pem") } } } });
    try {
      const port = Number(new URL(linked.url).port);
      const before = await servedSerial(port, ca);
      // A renewal as certbot does it: new files in archive/, then each link in live/ swapped by a rename.
      issue("certbot", "/CN=localhost", SERVER_EXTENSIONS);
      copyFileSync(file("certbot.pem"), join(le, "archive/host/fullchain2.pem"));
      copyFileSync(file("certbot.key"), join(le, "archive/host/privkey2.pem"));
      for (const [link, target] of [["privkey.pem", "privkey2.pem"], ["fullchain.pem", "fullchain2.pem"]] as const) {
        symlinkSync(`../../archive/host/${target}`, join(le, `live/host/${link}.new`));
        renameSync(join(le, `live/host/${link}.new`), join(le, `live/host/${link}`));
      }
      const renewed = new X509Certificate(readFileSync(file("certbot.pem"))).serialNumber;
      const after = await eventually(async () => {
        const serial = await servedSerial(port, ca);
        return serial === renewed ? serial : undefined;
      }, 10_000);
      expect(after).not.toBe(before);
      // And again: the links followed after the first renewal lead to the second's files (archive's fullchain2).
      issue("certbot3", "/CN=localhost", SERVER_EXTENSIONS);
      copyFileSync(file("certbot3.key"), join(le, "archive/host/privkey2.pem"));
      copyFileSync(file("certbot3.pem"), join(le, "archive/host/fullchain2.pem"));
      const third = new X509Certificate(readFileSync(file("certbot3.pem"))).serialNumber;
      expect(await eventually(async () => ((await servedSerial(port, ca)) === third ? third : undefined), 10_000)).toBe(third);
    } finally {
      await linked.dispose();
    }
  });

  it("reports the certificate in use and a change that did not load, in the status and the metrics", async () => {
    const trusting = new Agent({ connect: { ca } });
    const status = async () => {
      const response = await fetch(`${node.url}/api/status`, { dispatcher: trusting, headers: { authorization: `Bearer ${node.adminToken}` } });
      return StatusResponseSchema.parse(await response.json()).node.tls;
    };
    const metric = async (name: string, labels: string) => {
      const response = await fetch(`${node.url}/metrics`, { dispatcher: trusting, headers: { authorization: `Bearer ${node.adminToken}` } });
      return sampleOf(await response.text(), name, labels);
    };
    try {
      const live = new X509Certificate(readFileSync(file("live.pem")));
      const notAfter = new Date(Date.parse(live.validTo)).toISOString();
      expect(await status()).toEqual({
        certificates: [{ setting: "server.tls.certFile", subject: "CN=localhost", issuer: "CN=kai test CA", notAfter }],
        notReloaded: [],
      });
      expect(await metric("kai_tls_certificate_expiration_timestamp_seconds", 'setting="server.tls.certFile"')).toBe(Date.parse(notAfter) / 1000);
      expect(await metric("kai_tls_last_reload_successful", 'section="server.tls"')).toBe(1);

      // A key that is not the certificate's: the node keeps serving the last good pair, and says the change did not load.
      const before = await servedSerial(Number(new URL(node.url).port), ca);
      copyFileSync(file("client.key"), file("live.key"));
      await eventually(async () => ((await status())?.notReloaded.length === 1 ? true : undefined), 10_000);
      expect((await status())?.notReloaded).toEqual(["server.tls"]);
      expect(await metric("kai_tls_last_reload_successful", 'section="server.tls"')).toBe(0);
      expect(await servedSerial(Number(new URL(node.url).port), ca)).toBe(before);
      // kai doctor: the test CA issues for two days, under the alert's three (a failure), and the change that did not load.
      const doctor = DoctorResponseSchema.parse(await (await fetch(`${node.url}/api/doctor`, { dispatcher: trusting, headers: { authorization: `Bearer ${node.adminToken}` } })).json());
      const tls = doctor.checks.filter((check) => check.area === "tls");
      expect(tls.map((check) => check.state)).toEqual(["fail", "fail"]);
      expect(tls[0]!.summary).toMatch(/^server\.tls\.certFile \(CN=localhost\) expires \S+ \(in \d+ hour\(s\)\)$/);
      expect(tls[1]!.summary).toContain("server.tls: the files changed on disk but did not load");
      const told = await kaiAs(node, ["status", "--url", node.url, "--ca-file", file("ca.pem")]);
      expect(told.stdout).toMatch(/^tls reload:\s+FAILED for server\.tls: the files changed but do not load, the last good ones are still in use/m);

      // A good pair again (a certificate issued now, so it ends later): loaded, and the figures follow it.
      issue("later", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
      copyFileSync(file("later.key"), file("live.key"));
      copyFileSync(file("later.pem"), file("live.pem"));
      const later = new Date(Date.parse(new X509Certificate(readFileSync(file("later.pem"))).validTo)).toISOString();
      const reloaded = await eventually(async () => {
        const tls = await status();
        return tls?.notReloaded.length === 0 && tls.certificates[0]?.notAfter === later ? tls : undefined;
      }, 10_000);
      expect(reloaded.certificates).toHaveLength(1);
      expect(await metric("kai_tls_last_reload_successful", 'section="server.tls"')).toBe(1);
      expect(await metric("kai_tls_certificate_expiration_timestamp_seconds", 'setting="server.tls.certFile"')).toBe(Date.parse(later) / 1000);
    } finally {
      await trusting.close();
    }
  });

  it("refuses an expired certificate written over the good one, and one not valid yet until its period begins", async () => {
    const trusting = new Agent({ connect: { ca } });
    const port = Number(new URL(node.url).port);
    const get = (path: string) => fetch(`${node.url}${path}`, { dispatcher: trusting, headers: { authorization: `Bearer ${node.adminToken}` } });
    const notReloaded = async () => StatusResponseSchema.parse(await (await get("/api/status")).json()).node.tls?.notReloaded;
    const reloadMetric = async () => sampleOf(await (await get("/metrics")).text(), "kai_tls_last_reload_successful", 'section="server.tls"');
    const write = (name: string) => {
      copyFileSync(file(`${name}.key`), file("live.key"));
      copyFileSync(file(`${name}.pem`), file("live.pem"));
    };
    const warned = (text: string) => node.logs.some((line) => line.includes('"level":40') && line.includes(text));
    const reloads = () => node.logs.filter((line) => line.includes("TLS certificate reloaded")).length;
    try {
      const before = await servedSerial(port, ca);
      const reloadsBefore = reloads();
      // Expired: OpenSSL would load it without a word and every client would then refuse the node.
      write("expired");
      await eventually(async () => ((await notReloaded())?.length === 1 ? true : undefined), 10_000);
      expect(await notReloaded()).toEqual(["server.tls"]);
      expect(await reloadMetric()).toBe(0);
      expect(await servedSerial(port, ca)).toBe(before);
      const expiredEnd = new Date(Date.parse(new X509Certificate(readFileSync(file("expired.pem"))).validTo)).toISOString();
      // The HTTPS server's own reload says why (the peers' side of the same files may have marked it first).
      await eventually(async () => (warned(`server.tls.certFile ${file("live.pem")} holds a certificate that expired on ${expiredEnd}`) ? true : undefined), 10_000);
      expect(reloads()).toBe(reloadsBefore);
      // The node still answers with the last good certificate, so kai status can say the change did not load.
      const told = await kaiAs(node, ["status", "--url", node.url, "--ca-file", file("ca.pem")]);
      expect(told.stdout).toMatch(/^tls reload:\s+FAILED for server\.tls/m);

      // Valid a few seconds from now: refused now, then taken when its period begins, with no other change on disk.
      const from = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
      issue("soon", "/CN=localhost", SERVER_EXTENSIONS, { from, to: new Date(from.getTime() + 2 * DAY_MS) });
      write("soon");
      await eventually(async () => (warned(`server.tls.certFile ${file("live.pem")} holds a certificate that is not valid until ${from.toISOString()}`) ? true : undefined), 10_000);
      expect(await servedSerial(port, ca)).toBe(before);
      expect(await notReloaded()).toEqual(["server.tls"]);
      const taken = await eventually(async () => {
        const serial = await servedSerial(port, ca);
        return serial !== before ? serial : undefined;
      }, 15_000);
      expect(Date.now()).toBeGreaterThanOrEqual(from.getTime());
      expect(taken.toUpperCase()).toBe(new X509Certificate(readFileSync(file("soon.pem"))).serialNumber.toUpperCase());
      await eventually(async () => ((await notReloaded())?.length === 0 ? true : undefined), 5_000);
      expect(await reloadMetric()).toBe(1);
    } finally {
      await trusting.close();
    }
  }, 45_000);

  it("with clientCertificates: peers, KLP's routes need a client certificate signed by the CA; the API does not", async () => {
    const anonymous = new Agent({ connect: { ca } });
    const withCertificate = new Agent({ connect: { ca, cert: (await import("node:fs")).readFileSync(file("client.pem")), key: (await import("node:fs")).readFileSync(file("client.key")) } });
    const message = (dispatcher: Agent) => fetch(`${peersNode.url}/klp/message`, { method: "POST", dispatcher, headers: { "content-type": "application/json" }, body: "{}" });
    const refused = await message(anonymous);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("client certificate");
    // Every refusal is answered 401, but written at warn once per address and reason (5 minutes): anyone can send them.
    for (let i = 0; i < 3; i++) expect((await message(anonymous)).status).toBe(401);
    const refusalLines = () => peersNode.logs.filter((line) => line.includes('"level":40') && line.includes("a KLP request was refused"));
    expect(refusalLines()).toHaveLength(1);
    // Past the certificate check: the envelope itself is what is wrong now.
    const checked = await message(withCertificate);
    expect(checked.status).not.toBe(401);
    expect(checked.status).toBeLessThan(500);
    expect((await fetch(`${peersNode.url}/healthz`, { dispatcher: anonymous })).status).toBe(200);
    expect((await fetch(`${peersNode.url}/.well-known/klp.json`, { dispatcher: anonymous })).status).toBe(200);
    await anonymous.close();
    await withCertificate.close();
  });

  it("a client without a certificate stays refused when it resumes its TLS session (Node counts that as verified)", async () => {
    // One connection without a certificate, then a second that resumes its TLS 1.3 session: Node reports the resumed
    // one `authorized` though no certificate was ever shown, which let KLP's routes answer it.
    const post = (session?: Buffer) =>
      new Promise<{ status: string; reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let saved: Buffer | undefined;
        let text = "";
        const socket = connect({ host: "127.0.0.1", port: Number(new URL(peersNode.url).port), ca, servername: "localhost", ...(session ? { session } : {}) }, () => {
          socket.write("POST /klp/message HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        });
        socket.on("session", (ticket: Buffer) => (saved = ticket));
        socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
        socket.on("end", () => resolve({ status: text.split("\r\n", 1)[0]!, reused: socket.isSessionReused(), session: saved }));
        socket.on("error", reject);
      });
    const first = await post();
    expect(first.status).toContain(" 401 ");
    expect(first.session).toBeDefined();
    const resumed = await post(first.session);
    expect(resumed.reused).toBe(true);
    expect(resumed.status).toContain(" 401 ");
  });

  it("KLP's WebSocket needs the certificate whatever query the URL carries", async () => {
    const { default: WebSocket } = await import("ws");
    const url = new URL(peersNode.url);
    for (const path of ["/klp", "/klp?x=1"]) {
      const status = await new Promise<number | "open">((resolve, reject) => {
        const socket = new WebSocket(`wss://localhost:${url.port}${path}`, { ca });
        socket.on("open", () => {
          socket.terminate();
          resolve("open");
        });
        socket.on("unexpected-response", (_request, response) => {
          resolve(response.statusCode ?? 0);
          socket.terminate();
        });
        socket.on("error", reject);
      });
      expect(status, path).toBe(401);
    }
  });

  it("the CLI trusts the node's CA with --ca-file, and refuses the node without it", async () => {
    const kai = (args: string[]) => kaiAs(node, args);
    const trusted = await kai(["status", "--url", node.url, "--ca-file", file("ca.pem")]);
    expect(trusted.code, trusted.stderr).toBe(0);
    // `kai status` names the certificate the node presents and how long it has left (two days, as the test CA issues).
    expect(trusted.stdout).toMatch(/^tls:\s+server\.tls\.certFile: CN=localhost, issued by CN=kai test CA, expires \S+Z \(in (47|48) hour\(s\)\)$/m);
    expect(trusted.stdout).not.toMatch(/tls reload/);
    const untrusted = await kai(["status", "--url", node.url]);
    expect(untrusted.code).toBe(7);
    const missing = await kai(["status", "--url", node.url, "--ca-file", file("no-such.pem")]);
    expect(missing.code).toBe(2);
  });

  it("the CLI shows a client certificate with --client-cert/--client-key to a node that needs one on every connection", async () => {
    const kai = (args: string[]) => kaiAs(allNode, args);
    const base = ["status", "--url", allNode.url, "--ca-file", file("ca.pem")];
    const without = await kai(base);
    expect(without.code, without.stderr).toBe(7);
    // undici reports only "other side closed"; the CLI's own probe reads the alert and says what to do.
    expect(without.stderr).toContain("the node asks every client for a certificate (server.tls.clientCertificates: all) and none was shown");
    const otherCa = makeTestCa(mkdtempSync(join(dir, "other-ca-")));
    otherCa.issue("stranger", "/CN=stranger", "extendedKeyUsage=clientAuth\n");
    const stranger = await kai([...base, "--client-cert", otherCa.file("stranger.pem"), "--client-key", otherCa.file("stranger.key")]);
    expect(stranger.code, stranger.stderr).toBe(7);
    expect(stranger.stderr).toContain("which is how a node refuses a client certificate");
    const shown = await kai([...base, "--client-cert", file("client.pem"), "--client-key", file("client.key")]);
    expect(shown.code, shown.stderr).toBe(0);
    const half = await kai([...base, "--client-cert", file("client.pem")]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("--client-cert and --client-key go together");
    // Another certificate's key: a usage error naming both files, before any connection.
    const mismatched = await kai([...base, "--client-cert", file("client.pem"), "--client-key", otherCa.file("stranger.key")]);
    expect(mismatched.code, mismatched.stderr).toBe(2);
    expect(mismatched.stderr).toContain(`--client-key: ${otherCa.file("stranger.key")} is not the private key of the client certificate ${file("client.pem")}`);
  });
  it("the SDK trusts the node's CA through nodeTls: REST calls and watch() over WSS; without it, no connection", async () => {
    const tls = nodeTls({ caFile: file("ca.pem") });
    const client = createClient({ url: node.url, token: node.adminToken, ...tls });
    let watcher: Watcher | undefined;
    try {
      expect((await client.status()).node).toBeDefined();
      const seen: string[] = [];
      watcher = client.watch({ filter: { capability: "tls_watch" }, onEvent: (message) => seen.push(message.serviceId) });
      await watcher.ready;
      await client.services.register({ id: "tls-watched", name: "watched", capabilities: ["tls_watch"] });
      await eventually(async () => (seen.includes("tls-watched") ? true : undefined), 10_000);
      const untrusting = createClient({ url: node.url, token: node.adminToken });
      await expect(untrusting.status()).rejects.toBeInstanceOf(KaiConnectionError);
    } finally {
      watcher?.close();
      await tls.close();
    }
  });

  it("the SDK shows a client certificate through nodeTls to a node that needs one on every connection, and a KLP agent starts through it", async () => {
    const shown = nodeTls({ caFile: file("ca.pem"), certFile: file("client.pem"), keyFile: file("client.key") });
    const notShown = nodeTls({ ca: ca });
    try {
      const client = createClient({ url: allNode.url, token: allNode.adminToken, ...shown });
      expect((await client.status()).node).toBeDefined();
      await expect(createClient({ url: allNode.url, token: allNode.adminToken, ...notShown }).status()).rejects.toBeInstanceOf(KaiConnectionError);
      // The agent reads the node's signed document at start through the same fetch, and registers through the client.
      const agent = createKlpAgent({
        client,
        fetch: shown.fetch,
        key: klp.generateKeyPair(),
        manifest: { id: "kTls:main", name: "tls agent", skills: [{ id: "echo", name: "echo", capability: "tls_echo" }] },
        handlers: { tls_echo: (input: unknown) => ({ echoed: input }) },
      });
      const record = await agent.start();
      try {
        expect(record.id).toBe("kTls:main");
        // The pin is the DID the node's document names (read here through the same TLS settings).
        const document = (await (await shown.fetch(`${allNode.url}/.well-known/klp.json`)).json()) as { did: string };
        expect(agent.nodeDid).toBe(document.did);
      } finally {
        await agent.stop();
      }
    } finally {
      await shown.close();
      await notShown.close();
    }
  });

  it("nodeTls names a wrong setting at once", () => {
    expect(() => nodeTls({ caFile: file("no-such.pem") })).toThrow(/caFile .*no-such\.pem cannot be read \(ENOENT\)/);
    expect(() => nodeTls({ ca: "not a certificate" })).toThrow(/ca holds no PEM certificate/);
    expect(() => nodeTls({ certFile: file("client.pem") })).toThrow(/cert and key go together/);
    expect(() => nodeTls({ ca, caFile: file("ca.pem") })).toThrow(/ca or caFile, not both/);
    expect(() => nodeTls({ certFile: file("client.pem"), keyFile: file("client.pem") })).toThrow(/key.* holds no PEM private key/);
    // Another certificate's key: refused here, naming the file, not at the first handshake.
    expect(() => nodeTls({ certFile: file("client.pem"), keyFile: file("server.key") })).toThrow(/keyFile .*server\.key is not the private key of the client certificate .*client\.pem$/);
  });

  it("kai serve on a certificate from a private CA names the CA in its banner, and its try: command works as printed", async () => {
    const config = file("serve.yaml");
    writeFileSync(config, `server:\n  tls:\n    certFile: ${file("server.pem")}\n    keyFile: ${file("server.key")}\n    caFile: ${file("ca.pem")}\n`);
    const env = { ...process.env, KAI_CA_FILE: "", KAI_CLIENT_CERT: "", KAI_CLIENT_KEY: "", KAI_URL: "", KAI_TOKEN: "", KAI_CONFIG_DIR: dir };
    const serve = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data-dir", file("serve-data"), "--config", config, "--quiet"], { env, cwd: dir });
    try {
      let banner = "";
      serve.stderr.on("data", (chunk: Buffer) => (banner += chunk.toString()));
      const tryLine = await eventually(async () => /^ {2}try: +(.+)$/m.exec(banner)?.[1], 30_000);
      expect(banner).toContain(`TLS:         the certificate is not from a CA clients trust by themselves: give them ${file("ca.pem")}`);
      expect(tryLine).toContain(`KAI_CA_FILE=${file("ca.pem")}`);
      const status = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile("sh", ["-c", tryLine], { env, cwd: dir }, (error, stdout) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout }));
      });
      expect(status.code, tryLine).toBe(0);
      expect(status.stdout).toMatch(/^server: +https:\/\//m);
    } finally {
      serve.kill("SIGTERM");
      await new Promise((resolve) => serve.once("exit", resolve));
    }
  }, 60_000);

  it("kai serve --tls-cert/--tls-key serves HTTPS without a config file, and names the setting a wrong file is for", async () => {
    const env = { ...process.env, KAI_CA_FILE: "", KAI_CLIENT_CERT: "", KAI_CLIENT_KEY: "", KAI_URL: "", KAI_TOKEN: "", KAI_CONFIG: "", KAI_CONFIG_DIR: dir };
    const serve = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data-dir", file("flags-data"), "--tls-cert", file("server.pem"), "--tls-key", file("server.key"), "--quiet"], { env, cwd: dir });
    try {
      let banner = "";
      serve.stderr.on("data", (chunk: Buffer) => (banner += chunk.toString()));
      const url = await eventually(async () => /^kai server listening on (https:\/\/\S+)$/m.exec(banner)?.[1], 30_000);
      const answer = await new Promise<number | undefined>((resolve, reject) => {
        get(`${url}/healthz`, { ca }, (response) => {
          response.resume();
          resolve(response.statusCode);
        }).once("error", reject);
      });
      expect(answer).toBe(200);
    } finally {
      serve.kill("SIGTERM");
      await new Promise((resolve) => serve.once("exit", resolve));
    }
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, "serve", "--port", "0", "--data-dir", file("flags-data"), "--quiet", ...args], { env, cwd: dir }, (error, _stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr }),
        );
      });
    const notAKey = await run(["--tls-cert", file("server.pem"), "--tls-key", file("server.pem")]);
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr).toContain(`server.tls.keyFile ${file("server.pem")} holds no PEM private key`);
    // A key of its own, but not the certificate's: OpenSSL would have taken it and failed every handshake.
    const wrongKey = await run(["--tls-cert", file("server.pem"), "--tls-key", file("client.key")]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain(`server.tls.keyFile ${file("client.key")} is not the private key of server.tls.certFile ${file("server.pem")}`);
    const missing = await run(["--tls-cert", file("nowhere.pem"), "--tls-key", file("server.key")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`server.tls.certFile ${file("nowhere.pem")} cannot be read (ENOENT)`);
    // A key protected by a passphrase: said as such, with what to do (OpenSSL's words were "interrupted or cancelled").
    testCa.openssl("pkey", "-in", "server.key", "-out", "encrypted.key", "-aes256", "-passout", "pass:the-key-passphrase");
    const encrypted = await run(["--tls-cert", file("server.pem"), "--tls-key", file("encrypted.key")]);
    expect(encrypted.code).toBe(2);
    expect(encrypted.stderr).toContain(`server.tls.keyFile ${file("encrypted.key")} holds a private key protected by a passphrase, which the node cannot ask for: give it the key unencrypted`);
    expect(encrypted.stderr).not.toContain("interrupted or cancelled");
  }, 60_000);

  it("kai serve refuses TLS files that cannot serve before it makes its data directory: expired, not valid yet, a key not the certificate's", async () => {
    const env = { ...process.env, KAI_CA_FILE: "", KAI_CLIENT_CERT: "", KAI_CLIENT_KEY: "", KAI_URL: "", KAI_TOKEN: "", KAI_CONFIG: "", KAI_CONFIG_DIR: dir };
    const run = (dataDir: string, args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, "serve", "--port", "0", "--data-dir", dataDir, "--quiet", ...args], { env, cwd: dir }, (error, _stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr }),
        );
      });
    const endOf = (name: string, end: "validFrom" | "validTo") => new Date(Date.parse(new X509Certificate(readFileSync(file(`${name}.pem`)))[end])).toISOString();
    // No last good certificate to keep at start: the node does not start, and says which file and since or until when.
    const expired = await run(file("expired-data"), ["--tls-cert", file("expired.pem"), "--tls-key", file("expired.key")]);
    expect(expired.code, expired.stderr).toBe(2);
    expect(expired.stderr).toContain(`server.tls.certFile ${file("expired.pem")} holds a certificate that expired on ${endOf("expired", "validTo")}`);
    expect(existsSync(file("expired-data"))).toBe(false);
    const future = await run(file("future-data"), ["--tls-cert", file("future.pem"), "--tls-key", file("future.key")]);
    expect(future.code, future.stderr).toBe(2);
    expect(future.stderr).toContain(`server.tls.certFile ${file("future.pem")} holds a certificate that is not valid until ${endOf("future", "validFrom")}`);
    expect(existsSync(file("future-data"))).toBe(false);
    // A key that is not the certificate's: refused before vault.key, kai.db, admin.token and the node key are made.
    const wrongKey = await run(file("wrong-key-data"), ["--tls-cert", file("server.pem"), "--tls-key", file("client.key")]);
    expect(wrongKey.code, wrongKey.stderr).toBe(2);
    expect(wrongKey.stderr).toContain(`server.tls.keyFile ${file("client.key")} is not the private key of server.tls.certFile ${file("server.pem")}`);
    expect(existsSync(file("wrong-key-data"))).toBe(false);
    // The files shown to peers are checked as early.
    const config = file("peer-files.yaml");
    writeFileSync(config, `federation:\n  tls:\n    certFile: ${file("client.pem")}\n    keyFile: ${file("server.key")}\n`);
    const peerFiles = await run(file("peer-files-data"), ["--config", config]);
    expect(peerFiles.code, peerFiles.stderr).toBe(2);
    expect(peerFiles.stderr).toContain(`federation.tls.keyFile ${file("server.key")} is not the private key of federation.tls.certFile ${file("client.pem")}`);
    expect(existsSync(file("peer-files-data"))).toBe(false);
  }, 60_000);

  it("the CLI says what to do when a connection fails on TLS: the CA to give, the scheme to use (exit 7)", async () => {
    const port = new URL(node.url).port;
    const untrusted = await kaiAs(node, ["status", "--url", node.url]);
    expect(untrusted.code).toBe(7);
    expect(untrusted.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+: the node's certificate is not signed by a CA this client trusts \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\): if it comes from a private CA \(or is self-signed\), give that CA's certificate with --ca-file FILE \(or KAI_CA_FILE\)/);
    const otherCa = makeTestCa(mkdtempSync(join(dir, "wrong-ca-")));
    const wrongCa = await kaiAs(node, ["status", "--url", node.url, "--ca-file", otherCa.file("ca.pem")]);
    expect(wrongCa.code).toBe(7);
    expect(wrongCa.stderr).toContain("nor by the one given with --ca-file (or KAI_CA_FILE): give the CA that signs it");
    // The wrong scheme either way: the URL to use instead, and no OpenSSL internals (its source paths) in the text.
    const httpToHttps = await kaiAs(node, ["status", "--url", `http://127.0.0.1:${port}`]);
    expect(httpToHttps.code).toBe(7);
    expect(httpToHttps.stderr).toContain(`the node closed the connection without answering (UND_ERR_SOCKET): it speaks HTTPS on that port; use https://127.0.0.1:${port}`);
    const plainPort = new URL(plainNode.url).port;
    const httpsToHttp = await kaiAs(plainNode, ["status", "--url", `https://127.0.0.1:${plainPort}`]);
    expect(httpsToHttp.code).toBe(7);
    expect(httpsToHttp.stderr).toContain(`the node does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to speak plain HTTP; use http://127.0.0.1:${plainPort}`);
    expect(httpsToHttp.stderr).not.toMatch(/deps\/openssl|ssl3_get_record/);
    // Certificates the node itself would refuse or that name another host, served by plain HTTPS servers.
    const servers = await Promise.all(["elsewhere", "self", "expired"].map((name) => httpsServerWith(name)));
    try {
      const [elsewhere, self, expired] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
      const wrongHost = await kaiAs(node, ["status", "--url", elsewhere.url, "--ca-file", file("ca.pem")]);
      expect(wrongHost.code).toBe(7);
      expect(wrongHost.stderr).toContain("the node's certificate is not made for this host name (ERR_TLS_CERT_ALTNAME_INVALID): ");
      expect(wrongHost.stderr).toContain("; use a host name the certificate lists in --url (or KAI_URL), or have the certificate reissued for this one");
      const selfSigned = await kaiAs(node, ["status", "--url", self.url]);
      expect(selfSigned.code).toBe(7);
      expect(selfSigned.stderr).toContain("the node's certificate is not signed by a CA this client trusts (DEPTH_ZERO_SELF_SIGNED_CERT): if it comes from a private CA (or is self-signed), give that CA's certificate with --ca-file FILE");
      const expiredOne = await kaiAs(node, ["status", "--url", expired.url, "--ca-file", file("ca.pem")]);
      expect(expiredOne.code).toBe(7);
      expect(expiredOne.stderr).toContain("the node's certificate has expired (CERT_HAS_EXPIRED): its operator must renew it");
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  }, 60_000);

  it("tells a certificate clients trust by themselves from a self-signed one and one from a private CA", () => {
    const publicRoot = file("public-root.pem");
    writeFileSync(publicRoot, rootCertificates[0]!);
    expect(certificateTrust(publicRoot)).toEqual({ kind: "public" });
    // The test CA's own certificate is self-signed: the file itself is what clients need.
    expect(certificateTrust(file("ca.pem"))).toEqual({ kind: "private", caFile: file("ca.pem") });
    // Signed by a CA the node has no file of: named by its subject, for the banner to tell clients which CA they need.
    expect(certificateTrust(file("server.pem"))).toEqual({ kind: "private", issuer: "CN=kai test CA" });
    expect(certificateTrust(file("server.pem"), file("ca.pem"))).toEqual({ kind: "private", caFile: file("ca.pem") });
    expect(certificateTrust(file("no-such.pem"))).toEqual({ kind: "unknown" });
    // A node that asks every client for a certificate says which CA must sign it; `peers` and `off` need no line.
    expect(clientCertificateHint("all", file("ca.pem"))).toEqual([expect.stringContaining(`every client needs a certificate signed by ${file("ca.pem")}`)]);
    expect(clientCertificateHint("peers", file("ca.pem"))).toEqual([]);
    expect(clientCertificateHint("off", undefined)).toEqual([]);
  });
});

describe("refused KLP requests at warn", () => {
  it("once per address and reason every 5 minutes, remembering at most so many addresses (the oldest forgotten)", () => {
    let now = 0;
    const shouldWarn = refusalWarnThrottle(5 * 60_000, 2, () => now);
    expect(shouldWarn("10.0.0.1", "none was shown")).toBe(true);
    expect(shouldWarn("10.0.0.1", "none was shown")).toBe(false);
    // Another reason from the same address, and another address, are said.
    expect(shouldWarn("10.0.0.1", "the one shown does not verify (CERT_HAS_EXPIRED)")).toBe(true);
    now = 5 * 60_000 - 1;
    expect(shouldWarn("10.0.0.1", "none was shown")).toBe(false);
    now = 5 * 60_000;
    expect(shouldWarn("10.0.0.1", "none was shown")).toBe(true);
    // Two remembered: a third pair forgets the oldest written (the expired-certificate one), which is then said again.
    expect(shouldWarn("10.0.0.2", "none was shown")).toBe(true);
    expect(shouldWarn("10.0.0.1", "the one shown does not verify (CERT_HAS_EXPIRED)")).toBe(true);
    expect(shouldWarn("10.0.0.2", "none was shown")).toBe(false);
  });
});

describe("kai peer add's reasons, in the peer's terms", () => {
  const failed = (code: string, message: string) => new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
  it("a CA missing: --ca-file for the CLI's check, and federation.tls.caFile for the node; a host name: the URL given", async () => {
    expect(await explainPeerConnectionFailure(failed("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"), "https://peer.example:7070")).toBe(
      "the peer's certificate is not signed by a CA this machine trusts (SELF_SIGNED_CERT_IN_CHAIN): if it comes from a private CA (or is self-signed), give that CA's certificate with --ca-file FILE (or KAI_CA_FILE) for this check, and the node needs it too, in federation.tls.caFile (for peers it replaces server.tls.caFile: keep both CAs in that file; without a federation.tls section, server.tls.caFile serves)",
    );
    const otherHost = await explainPeerConnectionFailure(failed("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames: Host: peer.example. is not in the cert's altnames: DNS:other.example"), "https://peer.example:7070");
    expect(otherHost).toMatch(/^the peer's certificate is not made for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\): .*; add the peer by a host name its certificate lists \(in the URL given to this command\)/);
    expect(otherHost).not.toMatch(/--url|KAI_URL|banner/);
  });
});
