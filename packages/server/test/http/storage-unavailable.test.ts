// A database that cannot be reached, as clients see it: any `StorageUnavailableError` a route or a hook throws
// (or that caused what they threw) is answered 503 `storage_unavailable` with `Retry-After`, a message that says
// to retry, no stack and nothing of the backend's own error (host, user, password); it is logged once, at warn,
// by its message only. `/readyz` says "database unreachable" when its check hits the same error, and never more
// than its few words. A real Fastify app over real sockets, with the server's own error handler (which maps it
// for every route); the routes here throw what a PostgreSQL store throws when its
// database is gone (storage/postgres/pg-errors.ts turns pg's errors into it).
import { Writable } from "node:stream";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { pino } from "pino";
import { validatorCompiler } from "fastify-type-provider-zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, ReadyzNotReadySchema } from "@kai/protocol";
import { installErrorHandling } from "../../src/http/error-handler.js";
import { readinessRoute, type Readiness } from "../../src/http/routes/cluster.js";
import { ApiError } from "../../src/errors.js";
import { StorageUnavailableError } from "../../src/storage/contracts/storage-errors.js";
import { leaksStackTrace } from "./support/api-surface.js";

/** What pg's own error said: it must reach neither a response nor a log line. */
const BACKEND_DETAIL = "connect ECONNREFUSED db.internal:5432 for postgres://kai:hunter2@db.internal/kai";
const backendError = () => Object.assign(new Error(BACKEND_DETAIL), { code: "ECONNREFUSED" });
const unavailable = () => new StorageUnavailableError("connection refused", { cause: backendError() });

let app: FastifyInstance;
let url: string;
const logs: string[] = [];
const readiness: { next: () => Promise<Readiness>; closing: boolean } = { next: async () => ({ ready: true, reasons: [] }), closing: false };

beforeAll(async () => {
  const capture = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  app = Fastify({ loggerInstance: pino({ level: "info" }, capture) as FastifyBaseLogger });
  // As createApp sets them up: zod schemas validate requests; responses are serialised as they are.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandling(app);
  await app.register(readinessRoute(() => readiness.next(), () => readiness.closing));
  await app.register(async (scope) => {
    scope.get("/thrown", async () => {
      throw unavailable();
    });
    // A service that wraps the store's error in its own keeps the cause: still the database.
    scope.get("/wrapped", async () => {
      throw new Error("could not list services", { cause: unavailable() });
    });
    // The authentication hook reads tokens from the database before any handler runs.
    scope.get("/in-hook", { onRequest: async () => { throw unavailable(); } }, async () => ({ ok: true }));
    scope.get("/api-error", async () => {
      throw new ApiError("not_found", "service x not found");
    });
    scope.get("/bug", async () => {
      throw new Error(`a bug that mentions ${BACKEND_DETAIL}`);
    });
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
afterAll(async () => app?.close());

async function get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url + path);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  reason?: string;
}
/** The log lines written from `mark` on (tests run one request at a time), at warn or above. */
const warningsSince = (mark: number): LogLine[] => logs.slice(mark).map((line) => JSON.parse(line) as LogLine).filter((line) => line.level >= 40);

describe("storage_unavailable", () => {
  for (const path of ["/thrown", "/wrapped", "/in-hook"]) {
    it(`answers ${path} with 503 storage_unavailable, Retry-After, and nothing of the backend's error`, async () => {
      const response = await get(path);
      expect(response.status, response.text).toBe(503);
      const body = ErrorBodySchema.parse(JSON.parse(response.text));
      expect(body.error.code).toBe("storage_unavailable");
      expect(body.error.message).toBe("the database is unavailable; retry shortly");
      expect(response.headers.get("retry-after")).toBe("1");
      expect(leaksStackTrace(response.text)).toBe(false);
      for (const secret of ["hunter2", "db.internal", "postgres://", "ECONNREFUSED"]) expect(response.text).not.toContain(secret);
    });
  }

  it("logs each refused request once, at warn, by the error's own message only", async () => {
    const mark = logs.length;
    await get("/wrapped");
    const lines = warningsSince(mark);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, reason: "connection refused" });
    const written = logs.slice(mark).join("\n");
    expect(written).not.toContain("hunter2");
    expect(written).not.toContain("db.internal");
    expect(leaksStackTrace(written)).toBe(false);
  });

  it("leaves every other error to the app's handler: ApiError keeps its code, a bug stays 500 internal", async () => {
    const notFound = await get("/api-error");
    expect(notFound.status).toBe(404);
    expect(ErrorBodySchema.parse(JSON.parse(notFound.text)).error).toMatchObject({ code: "not_found", message: "service x not found" });
    const bug = await get("/bug");
    expect(bug.status).toBe(500);
    expect(ErrorBodySchema.parse(JSON.parse(bug.text)).error).toMatchObject({ code: "internal", message: "internal error" });
    expect(bug.headers.get("retry-after")).toBeNull();
  });
});

describe("/readyz when its check fails", () => {
  async function notReady(): Promise<string[]> {
    const response = await get("/readyz");
    expect(response.status, response.text).toBe(503);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const parsed = JSON.parse(response.text) as unknown;
    expect(Object.keys(parsed as object).sort()).toEqual(["reasons", "status"]);
    for (const secret of ["hunter2", "db.internal", "ECONNREFUSED"]) expect(response.text).not.toContain(secret);
    return ReadyzNotReadySchema.parse(parsed).reasons;
  }

  it("says database unreachable when the check hits an unavailable database", async () => {
    readiness.next = async () => {
      throw unavailable();
    };
    expect(await notReady()).toEqual(["database unreachable"]);
  });

  it("says only that the check failed when it throws anything else, and logs no message of it", async () => {
    readiness.next = async () => {
      throw new Error(`boom ${BACKEND_DETAIL}`);
    };
    const mark = logs.length;
    expect(await notReady()).toEqual(["readiness check failed"]);
    expect(warningsSince(mark)).toHaveLength(1);
    const written = logs.slice(mark).join("\n");
    expect(written).not.toContain("hunter2");
    expect(leaksStackTrace(written)).toBe(false);
  });

  it("passes the provider's reasons on, each once", async () => {
    readiness.next = async () => ({ ready: false, reasons: ["vault locked", "catching up with the event log", "vault locked"] });
    expect(await notReady()).toEqual(["vault locked", "catching up with the event log"]);
  });

  it("answers shutting down (and closes the connection) once shutdown has begun, without asking the provider", async () => {
    let asked = false;
    readiness.next = async () => {
      asked = true;
      return { ready: true, reasons: [] };
    };
    readiness.closing = true;
    try {
      const response = await get("/readyz");
      expect(response.status).toBe(503);
      expect(response.headers.get("connection")).toBe("close");
      expect(ReadyzNotReadySchema.parse(JSON.parse(response.text)).reasons).toEqual(["shutting down"]);
      expect(asked).toBe(false);
    } finally {
      readiness.closing = false;
    }
  });

  it("is ready again as soon as the check is", async () => {
    readiness.next = async () => ({ ready: true, reasons: [] });
    const response = await get("/readyz");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ status: "ready" });
  });
});
