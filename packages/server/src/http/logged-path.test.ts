// The path a request line records (http/logged-path.ts): secret path parameters masked by the route's pattern (its
// mask built once, when the route is added), a path that matched no route masked under a secret route's prefix
// (repeated slashes and escapes included), and a route that names a parameter it lacks refused when it is added (on a
// real Fastify app).
import Fastify, { type RouteOptions } from "fastify";
import { describe, expect, it } from "vitest";
import { maskSecretParams, PathMask, SecretPaths } from "./logged-path.js";

const secret = (...names: string[]) => new Set(names);

describe("maskSecretParams", () => {
  it("masks the secret parameters' segments and keeps the rest of the path as sent", () => {
    expect(maskSecretParams("/s/:token", "/s/eyJ.abc", secret("token"))).toBe("/s/[redacted]");
    expect(maskSecretParams("/api/x/:id/keys/:key", "/api/x/item-1/keys/k3y", secret("key"))).toBe("/api/x/item-1/keys/[redacted]");
    // A secret wildcard takes the rest of the path, slashes and all.
    expect(maskSecretParams("/api/vault/secrets/*", "/api/vault/secrets/team/prod/db", secret("*"))).toBe("/api/vault/secrets/[redacted]");
    // A wildcard that is not secret keeps the rest of the path as sent.
    expect(maskSecretParams("/files/:key/*", "/files/k3y/a/b", secret("key"))).toBe("/files/[redacted]/a/b");
    // `::` is an escaped colon, no parameter.
    expect(maskSecretParams("/a2a/:agent/message::send", "/a2a/bot/message:send", secret("agent"))).toBe("/a2a/[redacted]/message:send");
  });

  it("falls back to the masked pattern when the path does not line up with it", () => {
    expect(maskSecretParams("/s/:token", "/s/eyJ.abc/", secret("token"))).toBe("/s/[redacted]");
    expect(maskSecretParams("/s/:token/raw", "/s", secret("token"))).toBe("/s/[redacted]/raw");
  });

  it("masks every path with one mask built once for the route", () => {
    const mask = new PathMask("/api/x/:id/keys/:key", secret("key"));
    expect(mask.apply("/api/x/a/keys/one")).toBe("/api/x/a/keys/[redacted]");
    expect(mask.apply("/api/x/b/keys/two")).toBe("/api/x/b/keys/[redacted]");
    expect(mask.apply("/api/x/b/keys")).toBe("/api/x/:id/keys/[redacted]");
    expect(mask.apply("/api/x/b/keys/two/three")).toBe("/api/x/:id/keys/[redacted]");
  });
});

describe("SecretPaths", () => {
  function secretPaths(): SecretPaths {
    const paths = new SecretPaths();
    paths.onRoute({ method: "GET", url: "/s/:token", handler: () => undefined, config: { secretParams: ["token"] } });
    paths.onRoute({ method: "GET", url: "/api/vault/secrets/*", handler: () => undefined, config: { secretParams: ["*"] } });
    paths.onRoute({ method: "GET", url: "/api/x/:id/keys/:key", handler: () => undefined, config: { secretParams: ["key"] } });
    paths.onRoute({ method: "GET", url: "/api/services/:id", handler: () => undefined });
    return paths;
  }

  it("masks an unmatched path under a secret route's prefix, in any case and encoding, and leaves others alone", () => {
    const paths = secretPaths();
    expect(paths.unmatchedPath("/s/eyJ.abc/")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/S/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/s%2FeyJ.abc")).toBe("/s/[redacted]");
    // Escapes decoded one by one: a malformed one elsewhere does not keep the others encoded.
    expect(paths.unmatchedPath("/%73/eyJ.abc%zz")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/api/vault/secrets/team/db")).toBe("/api/vault/secrets/[redacted]");
    expect(paths.unmatchedPath("/api/x/item-1/keys/k3y/")).toBe("/api/x/:id/keys/[redacted]");
    expect(paths.unmatchedPath("/api/nowhere/x")).toBe("/api/nowhere/x");
    expect(paths.unmatchedPath("/sx/y")).toBe("/sx/y");
    expect(paths.unmatchedPath("/s")).toBe("/s");
  });

  it("masks an unmatched path whose segments are separated by repeated slashes, sent or encoded", () => {
    // The router keeps repeated slashes: a base URL ending in `/` joined with `/s/…` matches no route.
    const paths = secretPaths();
    expect(paths.unmatchedPath("//s/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("///s//eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/%2Fs/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/%2F/s%2F%2FeyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("//api/vault/secrets/team/db")).toBe("/api/vault/secrets/[redacted]");
    expect(paths.unmatchedPath("/api//vault///secrets/team/db")).toBe("/api/vault/secrets/[redacted]");
    expect(paths.unmatchedPath("/api/x/item-1//keys/k3y")).toBe("/api/x/:id/keys/[redacted]");
    expect(paths.unmatchedPath("//api/services/a")).toBe("//api/services/a");
  });

  it("masks an unmatched path that reaches a secret route's prefix through dot segments, sent or encoded", () => {
    const paths = secretPaths();
    expect(paths.unmatchedPath("/./s/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/x/../s/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/%2e/s/eyJ.abc")).toBe("/s/[redacted]");
    expect(paths.unmatchedPath("/api/x/../vault/./secrets/team/db")).toBe("/api/vault/secrets/[redacted]");
    expect(paths.unmatchedPath("/api/./services/a")).toBe("/api/./services/a");
  });

  it("masks a matched route's path with the mask its onRoute built; a route without secret parameters gets none", () => {
    const secretRoute: RouteOptions = { method: "GET", url: "/s/:token", handler: () => undefined, config: { secretParams: ["token"] } };
    const shared = { secretParams: ["token"] } as const;
    const sharing: RouteOptions = { method: "HEAD", url: "/s/:token", handler: () => undefined, config: shared };
    const plain: RouteOptions = { method: "GET", url: "/api/services/:id", handler: () => undefined };
    const paths = new SecretPaths();
    for (const route of [secretRoute, sharing, plain]) paths.onRoute(route);
    expect(secretRoute.config?.pathMask).toBeInstanceOf(PathMask);
    // The route's own config gets the mask: an object shared by several routes is left as it was.
    expect(sharing.config).not.toBe(shared);
    expect(shared).not.toHaveProperty("pathMask");
    expect(plain.config?.pathMask).toBeUndefined();
    expect(paths.matchedPath("/s/eyJ.abc", secretRoute.config)).toBe("/s/[redacted]");
    expect(paths.matchedPath("/api/services/a", plain.config)).toBe("/api/services/a");
    expect(paths.matchedPath("/api/services/a", undefined)).toBe("/api/services/a");
  });

  it("refuses a route whose secretParams names a parameter its path lacks: a typo would leak the real one", async () => {
    const app = Fastify();
    const paths = new SecretPaths();
    app.addHook("onRoute", paths.onRoute);
    expect(() => app.get("/s/:token", { config: { secretParams: ["tokn"] } }, async () => "x")).toThrow(/secretParams names tokn/);
    app.get("/t/:token", { config: { secretParams: ["token"] } }, async (request) => paths.matchedPath(request.url, request.routeOptions.config));
    // The mask reaches the request's route config (Fastify copies the route's config when it adds the route).
    expect((await app.inject("/t/eyJ.abc")).body).toBe("/t/[redacted]");
    expect((await app.inject({ method: "HEAD", url: "/t/eyJ.abc" })).statusCode).toBe(200);
    await app.close();
  });
});
