/**
 * The REST half of the SDK against a real server over real sockets: every call, the 201/200 distinction,
 * filters and paging, and the mapping of error answers to `KaiApiError` codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, createClient, type KaiClient, type ServiceRecord } from "@kai/sdk";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;

beforeAll(async () => {
  registry = await startRegistry();
  alice = await registry.clientWith(["services:read", "services:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
});

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<KaiApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KaiApiError);
  const apiError = error as KaiApiError;
  expect({ status: apiError.status, code: apiError.code }).toEqual({ status, code });
  return apiError;
}

describe("client: services", () => {
  it("answers health and status", async () => {
    expect(await registry.admin.health()).toEqual({ status: "ok" });
    const status = await alice.status();
    expect(status.caller.owner).toBe("alice");
    expect(status.caller.scopes).toEqual(expect.arrayContaining(["services:read", "services:write"]));
  });

  it("registers (201, created) and re-registers (200, not created), then gets the record", async () => {
    const first = await alice.services.register(definition("reg-1", { description: "first" }));
    expect(first.created).toBe(true);
    expect(first.service).toMatchObject({ id: "reg-1", owner: "alice", description: "first", status: "active" });

    const second = await alice.services.register(definition("reg-1", { description: "second" }));
    expect(second.created).toBe(false);
    expect(second.service.revision).toBeGreaterThan(first.service.revision);

    const fetched = await alice.services.get("reg-1");
    expect(fetched.description).toBe("second");
    expect(fetched.revision).toBe(second.service.revision);
  });

  it("registers a batch from a body encoded by the caller, checked by the node as registerMany's", async () => {
    const body = Buffer.from(JSON.stringify({ services: [definition("enc-1", { description: "é 日本" }), definition("enc-2")] }));
    const answer = await alice.services.registerManyEncoded(body);
    expect(answer.results).toEqual([{ id: "enc-1", action: "created" }, { id: "enc-2", action: "created" }]);
    expect((await alice.services.get("enc-1")).description).toBe("é 日本");
    const again = await alice.services.registerManyEncoded(body);
    expect(again.results.map((result) => result.action)).toEqual(["unchanged", "unchanged"]);

    const bad = await expectApiError(alice.services.registerManyEncoded(Buffer.from('{"services":[{"id":"enc-3","name":"x","url":"not a url"}]}')), 400, "validation_failed");
    expect(bad.details?.map((detail) => detail.path)).toContain("body.services.0.url");
    await expectApiError(alice.services.registerManyEncoded(Buffer.from('{"services":[')), 400, "invalid_json");
    await expectApiError(alice.services.get("enc-3"), 404, "not_found");
  });

  it("removes a batch (removed, absent where there is none), and a refused batch removes nothing", async () => {
    await alice.services.registerMany([definition("rm-1"), definition("rm-2")]);
    const answer = await alice.services.removeMany(["rm-1", "rm-none", "rm-2"]);
    expect(answer.results).toEqual([{ id: "rm-1", action: "removed" }, { id: "rm-none", action: "absent" }, { id: "rm-2", action: "removed" }]);
    await expectApiError(alice.services.get("rm-2"), 404, "not_found");

    await alice.services.register(definition("rm-3"));
    const twice = await expectApiError(alice.services.removeMany(["rm-3", "rm-3"]), 400, "validation_failed");
    expect(twice.details?.map((detail) => detail.path)).toEqual(["body.ids.1"]);
    expect((await alice.services.get("rm-3")).id).toBe("rm-3");
  });

  it("filters by type, every given tag, capability, provider and text", async () => {
    await alice.services.register(definition("flt-a", { type: "agent", tags: ["flt", "eu", "gpu"], capabilities: ["llm_chat", "embeddings"], provider: "ollama" }));
    await alice.services.register(definition("flt-b", { type: "tool", tags: ["flt", "eu"], capabilities: ["embeddings"], provider: "openai" }));
    await alice.services.register(definition("flt-c", { type: "tool", tags: ["flt", "us"], capabilities: ["vector_storage"], provider: "qdrant", description: "needle in here" }));

    const ids = async (query: Parameters<KaiClient["services"]["list"]>[0]) =>
      (await alice.services.list(query)).services.map((service) => service.id).sort();

    expect(await ids({ tag: ["flt"] })).toEqual(["flt-a", "flt-b", "flt-c"]);
    // Repeated tags must all match: serialised as tag=flt&tag=eu&tag=gpu.
    expect(await ids({ tag: ["flt", "eu", "gpu"] })).toEqual(["flt-a"]);
    expect(await ids({ tag: ["flt", "eu"] })).toEqual(["flt-a", "flt-b"]);
    expect(await ids({ tag: ["flt"], type: ["tool"] })).toEqual(["flt-b", "flt-c"]);
    expect(await ids({ tag: ["flt"], capability: ["embeddings"] })).toEqual(["flt-a", "flt-b"]);
    expect(await ids({ tag: ["flt"], provider: "qdrant" })).toEqual(["flt-c"]);
    expect(await ids({ tag: ["flt"], q: "needle" })).toEqual(["flt-c"]);
  });

  it("pages through everything with listAll, following nextCursor", async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `page-${String(i).padStart(2, "0")}`;
      created.push(id);
      await alice.services.register(definition(id, { tags: ["paging"] }));
    }
    const firstPage = await alice.services.list({ tag: ["paging"], limit: 3 });
    expect(firstPage.services).toHaveLength(3);
    expect(firstPage.nextCursor).not.toBeNull();

    const seen: ServiceRecord[] = [];
    for await (const service of alice.services.listAll({ tag: ["paging"], pageSize: 3 })) seen.push(service);
    expect(seen.map((service) => service.id).sort()).toEqual(created);
    expect(new Set(seen.map((service) => service.id)).size).toBe(seen.length);
  });

  it("listAll asks for the next page while the caller works through this one; a caller that stops early gets no error", async () => {
    for (let i = 0; i < 5; i++) await alice.services.register(definition(`ahead-${i}`, { tags: ["ahead"] }));
    const { token } = await registry.admin.tokens.create({ scopes: ["services:read"], owner: "alice", ttl: "1h" });
    const asked: string[] = [];
    let failAhead = false;
    const counting = createClient({
      url: registry.url,
      token,
      fetch: (input, init) => {
        asked.push(String(input));
        // The page asked for ahead fails, as it would were the node to go away meanwhile.
        if (failAhead && asked.length > 1) return Promise.reject(new TypeError("fetch failed"));
        return fetch(input, init);
      },
    });
    const seen: string[] = [];
    for await (const service of counting.services.listAll({ tag: ["ahead"], pageSize: 2 })) {
      // Holding the first record of the first page: the second page is already on its way.
      if (seen.length === 0) expect(asked).toHaveLength(2);
      seen.push(service.id);
    }
    expect(seen.sort()).toEqual(["ahead-0", "ahead-1", "ahead-2", "ahead-3", "ahead-4"]);
    expect(asked).toHaveLength(3);
    // Stopping after the first record: the page asked for ahead is left, and its failure escapes nowhere.
    asked.length = 0;
    failAhead = true;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      for await (const service of counting.services.listAll({ tag: ["ahead"], pageSize: 2 })) if (service) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(asked).toHaveLength(2);
    expect(unhandled).toEqual([]);
  });

  it("passes sort and order to the node, for one page and for listAll", async () => {
    const names = ["mike", "Lima", "kilo", "Juliet"];
    for (const [i, name] of names.entries()) await alice.services.register(definition(`sorted-${i}`, { name, tags: ["sorted"] }));
    const page = await alice.services.list({ tag: ["sorted"], sort: "name", limit: 2 });
    expect(page.services.map((service) => service.name)).toEqual(["Juliet", "kilo"]);
    const seen: string[] = [];
    for await (const service of alice.services.listAll({ tag: ["sorted"], sort: "name", order: "desc", pageSize: 1 })) seen.push(service.name);
    expect(seen).toEqual(["mike", "Lima", "kilo", "Juliet"]);
  });

  it("updates with a merge patch and heartbeats", async () => {
    const { service } = await alice.services.register(definition("upd-1", { ttl: 60 }));
    const updated = await alice.services.update("upd-1", { description: "patched", tags: ["x", "y"] });
    expect(updated).toMatchObject({ description: "patched", tags: ["x", "y"], name: service.name });
    expect(updated.revision).toBeGreaterThan(service.revision);

    const beat = await alice.services.heartbeat("upd-1");
    expect(beat.id).toBe("upd-1");
    expect(beat.status).toBe("active");
    expect(beat.expiresAt).not.toBeNull();

    const degraded = await alice.services.heartbeat("upd-1", { status: "degraded", note: "slow" });
    expect(degraded.status).toBe("degraded");
    expect((await alice.services.get("upd-1")).status).toBe("degraded");
  });

  it("removes a service, after which it is not found", async () => {
    await alice.services.register(definition("rm-1"));
    await alice.services.remove("rm-1");
    await expectApiError(alice.services.get("rm-1"), 404, "not_found");
    await expectApiError(alice.services.remove("rm-1"), 404, "not_found");
  });
});

describe("client: errors", () => {
  it("maps 404 with the server's message and request id", async () => {
    const error = await expectApiError(alice.services.get("does-not-exist"), 404, "not_found");
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.requestId).toEqual(expect.any(String));
  });

  it("maps a bad token to 401 unauthorized", async () => {
    const stranger = createClient({ url: registry.url, token: "not-a-jwt" });
    await expectApiError(stranger.services.list(), 401, "unauthorized");
    const anonymous = createClient({ url: registry.url });
    await expectApiError(anonymous.status(), 401, "unauthorized");
  });

  it("maps a missing scope to 403 forbidden", async () => {
    const reader = await registry.clientWith(["services:read"], "bob");
    await expectApiError(reader.services.register(definition("forbidden-1")), 403, "forbidden");
    await expectApiError(reader.tokens.list(), 403, "forbidden");
  });

  it("maps invalid input to 400 validation_failed with the failing fields", async () => {
    const error = await expectApiError(
      alice.services.register({ ...definition("bad-1"), version: "not-semver", capabilities: ["Not Valid"] }),
      400,
      "validation_failed",
    );
    const paths = (error.details ?? []).map((detail) => detail.path);
    // The server may prefix the request part (`body.version`); the field itself must be named.
    expect(paths.some((path) => /(^|\.)version$/.test(path))).toBe(true);
    expect(paths.some((path) => /(^|\.)capabilities\.0$/.test(path))).toBe(true);
  });

  it("maps a service owned by someone else to 409 conflict", async () => {
    await alice.services.register(definition("owned-by-alice"));
    const bob = await registry.clientWith(["services:read", "services:write"], "bob");
    await expectApiError(bob.services.register(definition("owned-by-alice")), 409, "conflict");
  });
});

describe("client: tokens", () => {
  it("creates, lists and revokes tokens; a revoked token is refused", async () => {
    const created = await registry.admin.tokens.create({ scopes: ["services:read"], owner: "carol", ttl: "1h", name: "sdk test" });
    expect(created.token.length).toBeGreaterThan(20);
    expect(created.scopes).toEqual(["services:read"]);

    const listed = await registry.admin.tokens.list();
    expect(listed.map((token) => token.id)).toContain(created.id);

    const carol = createClient({ url: registry.url, token: created.token });
    await carol.services.list();
    await registry.admin.tokens.revoke(created.id);
    await expectApiError(carol.services.list(), 401, "unauthorized");
  });
});
