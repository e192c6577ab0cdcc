/**
 * The HTTP layer against small real HTTP servers that misbehave the way proxies and dead hosts do:
 * answers that are not our error shape, bodies that do not match the protocol, no answer at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KaiApiError, KaiConnectionError, createClient, describeConnectionFailure } from "@kai/sdk";

const servers: Server[] = [];

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (reason: unknown) => reason,
  );
}

describe("http transport", () => {
  it("sends the bearer token and repeated query keys", async () => {
    let seen: { url?: string; authorization?: string } = {};
    const url = await serve((request, response) => {
      seen = { url: request.url, authorization: request.headers.authorization };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ services: [], revision: 4, nextCursor: null }));
    });
    const client = createClient({ url: `${url}/`, token: "t0k" });
    const answer = await client.services.list({ tag: ["a", "b c"], capability: ["llm_chat"], limit: 5 });
    expect(answer).toEqual({ services: [], revision: 4, nextCursor: null });
    expect(seen.authorization).toBe("Bearer t0k");
    const query = new URL(seen.url ?? "", url).searchParams;
    expect(query.getAll("tag")).toEqual(["a", "b c"]);
    expect(query.getAll("capability")).toEqual(["llm_chat"]);
    expect(query.get("limit")).toBe("5");
  });

  it("maps an error body in our shape, with Retry-After", async () => {
    const url = await serve((_request, response) => {
      response
        .writeHead(429, { "content-type": "application/json", "retry-after": "7", "x-request-id": "req-1" })
        .end(JSON.stringify({ error: { code: "rate_limited", message: "slow down" } }));
    });
    const error = await failure(createClient({ url }).services.get("x"));
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", message: "slow down", requestId: "req-1", retryAfterSeconds: 7 });
  });

  it("falls back to http_<status> when the body is not our error shape (a proxy page)", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(502, { "content-type": "text/html" }).end("<html>Bad Gateway</html>");
    });
    const error = await failure(createClient({ url }).status());
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 502, code: "http_502" });
  });

  it("refuses a 2xx body that does not match the protocol instead of passing it on", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", name: 42 }));
    });
    const error = await failure(createClient({ url }).services.get("x"));
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 200, code: "invalid_response" });
  });

  it("reports a server that does not answer in time as KaiConnectionError", async () => {
    const url = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const error = await failure(createClient({ url, timeoutMs: 200 }).health());
    expect(error).toBeInstanceOf(KaiConnectionError);
    expect((error as Error).message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("reports a refused connection as KaiConnectionError", async () => {
    const url = await serve(() => undefined);
    const closed = servers.pop();
    await new Promise((resolve) => closed?.close(resolve));
    const error = await failure(createClient({ url }).health());
    expect(error).toBeInstanceOf(KaiConnectionError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("says a plain HTTP server asked over https:// speaks plain HTTP, without OpenSSL's internals", async () => {
    const url = await serve((_request, response) => response.end("{}"));
    const error = await failure(createClient({ url: url.replace("http:", "https:") }).health());
    expect(error).toBeInstanceOf(KaiConnectionError);
    // OpenSSL's own text carries its error number and the build's source path (…:../deps/openssl/…/ssl3_record.c:350:).
    expect((error as Error).message).toBe(
      `cannot reach ${url.replace("http:", "https:")}: the node does not speak TLS on that port (ERR_SSL_WRONG_VERSION_NUMBER): it seems to speak plain HTTP; use http://`,
    );
  });

  it("words OpenSSL's other errors without its thread id or source path, and knows every untrusted-certificate code", () => {
    const failed = (code: string, message: string) => new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
    expect(
      describeConnectionFailure(
        failed("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "80FCCC097D7F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40"),
        "https://node.example",
      ),
    ).toBe("SSL routines:ssl3_read_bytes:sslv3 alert handshake failure: SSL alert number 40 (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE)");
    // The one list, @kai/protocol's, shared with the node's words for its peers: this code was the node's only.
    expect(describeConnectionFailure(failed("CERT_SIGNATURE_FAILURE", "certificate signature failure"), "https://node.example")).toBe(
      "the node's certificate is not signed by a CA this client trusts (CERT_SIGNATURE_FAILURE)",
    );
  });

  it("uses an injected fetch", async () => {
    const calls: string[] = [];
    const injected: typeof fetch = async (input, init) => {
      calls.push(`${init?.method ?? "GET"} ${String(input)}`);
      return new Response(JSON.stringify({ status: "ok" }), { status: 200, headers: { "content-type": "application/json" } });
    };
    const client = createClient({ url: "http://registry.invalid:7070", fetch: injected });
    expect(await client.health()).toEqual({ status: "ok" });
    expect(calls).toEqual(["GET http://registry.invalid:7070/healthz"]);
  });

  it("refuses a URL that is not http(s)", () => {
    expect(() => createClient({ url: "ftp://example.com" })).toThrow(TypeError);
    expect(() => createClient({ url: "not a url" })).toThrow(TypeError);
  });
});
