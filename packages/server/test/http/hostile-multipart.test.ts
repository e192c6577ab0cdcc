// Hostile multipart uploads on `/v1/audio/transcriptions` (issue 12, item 4): a body that is not well-formed
// multipart is a 400 `validation_failed` (it was a 500 `internal`: "Unexpected end of multipart data"), and an upload
// over the limit is a 413 `payload_too_large` as soon as the limit is passed, with the connection closed, instead of
// after the whole upload was read (1 GiB announced, or streamed without a length).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { errorCodeOf, flood, requestHead } from "./support/raw-http.js";

const PATH = "/v1/audio/transcriptions";
const BOUNDARY = "kai-hostile-boundary";
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
/** The route's own file limit (OpenAI's): 25 MiB. */
const MAX_AUDIO = 25 * MIB;

let server: TestServer;
let caller: string;

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  caller = await mintToken(server, ["gateway:invoke"], "alice");
});
afterAll(async () => server?.dispose());

/** Posts `body` as multipart with the given content type (our boundary unless told). */
async function post(body: string | Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`): Promise<{ status: number; code: string; text: string }> {
  const response = await server.request(PATH, { method: "POST", token: caller, headers: { "content-type": contentType }, body });
  const text = await response.text();
  const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
  return { status: response.status, code: parsed.success ? parsed.data.error.code : "", text };
}

const field = (name: string, value: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = () => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`;

describe("a malformed multipart body", () => {
  const cases: Array<{ what: string; body: string; contentType?: string }> = [
    { what: "ends without its closing boundary", body: field("model", "whisper-1") + fileHead() + "RIFF" },
    { what: "ends in the middle of a part's headers", body: `--${BOUNDARY}\r\nContent-Disposition: form-data; na` },
    { what: "has a part header that is not a header", body: `--${BOUNDARY}\r\n\u0000\u0001garbage\r\n\r\nx\r\n--${BOUNDARY}--\r\n` },
    { what: "has no boundary in its content type", body: field("model", "whisper-1") + `--${BOUNDARY}--\r\n`, contentType: "multipart/form-data" },
    { what: "is not multipart at all", body: "just some bytes that never mention the boundary" },
    { what: "sends a JSON field that is not JSON", body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\nContent-Type: application/json\r\n\r\n{nope\r\n--${BOUNDARY}--\r\n` },
  ];
  for (const { what, body, contentType } of cases) {
    it(`${what}: 400 validation_failed, never a 500`, async () => {
      const answer = await post(body, contentType);
      expect(answer.status, answer.text).toBe(400);
      expect(answer.code).toBe("validation_failed");
      expect(answer.text).not.toMatch(/Unexpected end|busboy|at .*\.js/);
    });
  }

  it("a prototype key as a field name is refused, not merged", async () => {
    const answer = await post(field("__proto__", "x") + `--${BOUNDARY}--\r\n`);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.code).toBe("validation_failed");
  });

  it("the server stays healthy after all of them, and logged none of them as an error", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(server.logs.filter((line) => line.includes('"level":50'))).toEqual([]);
  });
});

describe("a multipart upload over the limit", () => {
  it("with an announced length over the limit: 413 at once, before any of it is read", async () => {
    const head = requestHead("POST", PATH, { authorization: `Bearer ${caller}`, "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "content-length": GIB });
    const result = await flood(server.url, head + field("model", "whisper-1") + fileHead(), GIB);
    expect(result.refused, `the server read ${result.accepted} bytes without closing`).toBe(true);
    expect(result.accepted).toBeLessThan(MAX_AUDIO);
    expect(result.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(result.text.toLowerCase()).toContain("connection: close");
    expect(errorCodeOf(result.text)).toBe("payload_too_large");
  });

  it("streamed without a length: 413 as soon as the file passes 25 MiB, not after the whole upload", async () => {
    const head = requestHead("POST", PATH, { authorization: `Bearer ${caller}`, "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "transfer-encoding": "chunked" });
    // One chunk announced as 1 GiB: the file's bytes follow until the server says stop.
    const result = await flood(server.url, head + `${GIB.toString(16)}\r\n` + field("model", "whisper-1") + fileHead(), GIB);
    expect(result.refused, `the server read ${result.accepted} bytes without closing`).toBe(true);
    // The limit, plus what the two kernels buffer (~4 MiB on loopback): nowhere near the 1 GiB sent.
    expect(result.accepted).toBeGreaterThan(MAX_AUDIO);
    expect(result.accepted).toBeLessThan(MAX_AUDIO + 24 * MIB);
    expect(result.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(result.text.toLowerCase()).toContain("connection: close");
    expect(errorCodeOf(result.text)).toBe("payload_too_large");
  });

  it("a field larger than a field may be: 413", async () => {
    const answer = await post(field("prompt", "p".repeat(2 * MIB)) + `--${BOUNDARY}--\r\n`);
    expect(answer.status, answer.text).toBe(413);
    expect(answer.code).toBe("payload_too_large");
  });
});
