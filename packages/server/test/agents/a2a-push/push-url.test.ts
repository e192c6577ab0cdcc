/**
 * Push URLs (SSRF, a2aproject/a2a-python#1164): the syntax checks, the address ranges refused, a name judged by every
 * address it resolves to, and — at send time — the address the socket actually connects to (a real loopback
 * receiver that must never be reached when private addresses are not allowed, by IP literal or by name).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPushUrl, isNonPublicAddress, parsePushUrl, PushUrlRefused } from "../../../src/agents/a2a/server/push/push-url.js";
import { sendPush } from "../../../src/agents/a2a/server/push/push-sender.js";
import type { StreamResponse } from "@a2a-js/sdk";

let receiver: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    hits += 1;
    request.resume();
    response.statusCode = 204;
    response.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  port = (receiver.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

const response: StreamResponse = { payload: { $case: "statusUpdate", value: { taskId: "t", contextId: "t", status: undefined, metadata: undefined } } };
const sendOptions = { attempts: 3, backoffMs: 10, timeoutMs: 2000 };

describe("push URL syntax", () => {
  it.each([
    ["", "needs a url"],
    ["not a url", "not a URL"],
    ["ftp://hooks.example/x", "http or https"],
    ["file:///etc/passwd", "http or https"],
    ["https://user:pass@hooks.example/x", "must not carry credentials"],
    [`https://hooks.example/${"a".repeat(2100)}`, "longer than"],
  ])("refuses %j", (url, message) => {
    expect(() => parsePushUrl(url)).toThrow(message);
  });

  it("takes http and https URLs with a path and a query", () => {
    expect(parsePushUrl("https://hooks.example:8443/a2a?x=1").host).toBe("hooks.example:8443");
  });
});

describe("addresses that are not public", () => {
  it.each(["127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "[::1]"])("%s is refused", (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("%s is public", (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });
});

describe("checkPushUrl (when a config is made)", () => {
  const strict = (addresses: string[]) => ({ allowPrivate: false, resolve: async () => addresses });

  it("refuses an IP literal that is not public, and a name resolving to one (any of its addresses)", async () => {
    await expect(checkPushUrl("http://127.0.0.1:8080/hook", strict([]))).rejects.toThrow(PushUrlRefused);
    await expect(checkPushUrl("http://[::1]/hook", strict([]))).rejects.toThrow(PushUrlRefused);
    await expect(checkPushUrl("http://169.254.169.254/latest/meta-data", strict([]))).rejects.toThrow("not public");
    await expect(checkPushUrl("https://inside.example/hook", strict(["93.184.216.34", "10.0.0.5"]))).rejects.toThrow("resolves to an address that is not public");
    await expect(checkPushUrl("https://nowhere.example/hook", { allowPrivate: false, resolve: async () => Promise.reject(new Error("ENOTFOUND")) })).rejects.toThrow("does not resolve");
  });

  it("takes a public address, and a private one when allowPrivate is set", async () => {
    await expect(checkPushUrl("https://hooks.example/hook", strict(["93.184.216.34"]))).resolves.toBeInstanceOf(URL);
    await expect(checkPushUrl("http://127.0.0.1:8080/hook", { allowPrivate: true })).resolves.toBeInstanceOf(URL);
  });

  it("resolves localhost with the system resolver and refuses it", async () => {
    await expect(checkPushUrl(`http://localhost:${port}/hook`, { allowPrivate: false })).rejects.toThrow(PushUrlRefused);
  });
});

describe("sendPush (at send time: the address connected to is judged)", () => {
  it("never reaches a loopback receiver when private addresses are not allowed, by IP or by name, and does not retry", async () => {
    const before = hits;
    const byIp = await sendPush({ url: `http://127.0.0.1:${port}/hook` }, response, { ...sendOptions, allowPrivate: false });
    expect(byIp).toEqual({ ok: false, attempts: 1, reason: expect.stringContaining("not public") });
    // A name that passed a check earlier and resolves to loopback now (DNS rebinding) is refused at the socket.
    const byName = await sendPush({ url: `http://localhost:${port}/hook` }, response, { ...sendOptions, allowPrivate: false });
    expect(byName).toMatchObject({ ok: false, attempts: 1 });
    expect(hits).toBe(before);
  });

  it("delivers when private addresses are allowed", async () => {
    const before = hits;
    expect(await sendPush({ url: `http://localhost:${port}/hook` }, response, { ...sendOptions, allowPrivate: true })).toEqual({ ok: true, attempts: 1 });
    expect(hits).toBe(before + 1);
  });
});
