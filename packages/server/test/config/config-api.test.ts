/**
 * Configuration layers over HTTP on a real node (issue 18): `GET /api/config/explain` names each layer's value and the
 * winner, `PATCH /api/config` changes the log level of the running node (its loggers stop writing info lines at once), records who changed what in the security log and publishes CONFIG_UPDATE, refuses
 * a restart-only setting (409 config_restart_required) and a key the system file locked (409 config_locked, naming
 * the file), all with scope `config:admin` (a token without it: 403).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusEventFilterSchema, type BusEvent } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const dir = mkdtempSync(join(tmpdir(), "kai-config-api-"));
const systemFile = join(dir, "system.yaml");
let server: TestServer;
let configAdmin: string;

beforeAll(async () => {
  writeFileSync(systemFile, "'@locked': [gateway.retries]\ngateway:\n  retries: 2\n  deadlineMs: '@env:KAI_TEST_DEADLINE'\n");
  server = await startTestServer({ env: { KAI_SYSTEM_CONFIG: systemFile, KAI_TEST_DEADLINE: "90000" } });
  configAdmin = await mintToken(server, ["config:admin"], "carol");
});

afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const patch = (settings: Record<string, unknown>, token = configAdmin) => server.request("/api/config", { method: "PATCH", json: { settings }, token });

describe("configuration layers over HTTP", () => {
  it("explain: each layer's value and the winner, the lock and the env reference", async () => {
    const response = await server.request("/api/config/explain?key=gateway.retries", { token: configAdmin });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { value: number; winner: string; locked: { source: string } | null; live: boolean; layers: Array<{ layer: string; set: boolean; value?: unknown }> };
    // Live (the router reads it per request), and still locked by the system file.
    expect(body).toMatchObject({ value: 2, winner: "system", locked: { layer: "system", source: systemFile, key: "gateway.retries" }, live: true });
    expect(body.layers.map((layer) => layer.layer)).toEqual(["defaults", "system", "env", "cli"]);
    const deadline = (await (await server.request("/api/config/explain?key=gateway.deadlineMs", { token: configAdmin })).json()) as { value: number; layers: Array<{ layer: string; env?: string }> };
    expect(deadline.value).toBe(90000);
    expect(deadline.layers.find((layer) => layer.layer === "system")?.env).toBe("KAI_TEST_DEADLINE");
    expect((await server.request("/api/config/explain?key=no.such.setting", { token: configAdmin })).status).toBe(404);
    expect((await server.request("/api/config/explain?key=a..b", { token: configAdmin })).status).toBe(400);
  });

  it("changes the log level live: audited, announced, and the node's loggers follow", async () => {
    const events = server.mesh.events.subscribe({ owner: "admin", admin: true }, BusEventFilterSchema.parse({ type: "CONFIG_UPDATE" }));
    const response = await patch({ "logging.level": "warn" });
    const child = server.logger.child({ part: "made-after-the-change" });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toEqual({ changed: [{ key: "logging.level", old: "info", new: "warn" }] });
    // Info lines no longer reach any destination, from the root or a child made earlier; warnings still do.
    child.info("config-test: info after the change");
    server.logger.info("config-test: root info after the change");
    child.warn("config-test: warning after the change");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.logs.some((line) => line.includes("info after the change"))).toBe(false);
    expect(server.logs.some((line) => line.includes("warning after the change"))).toBe(true);
    // What GET /api/config and explain say.
    const view = (await (await server.request("/api/config", { token: configAdmin })).json()) as { config: { logging: { level: string } } };
    expect(view.config.logging.level).toBe("warn");
    expect(await (await server.request("/api/config/explain?key=logging.level", { token: configAdmin })).json()).toMatchObject({ winner: "runtime", live: true });
    // One CONFIG_UPDATE, naming the key and who changed it (never the value).
    let event: BusEvent | undefined;
    for (;;) {
      const item = await events.next();
      if (item === null) break;
      if (item.type === "event" && item.event.type === "CONFIG_UPDATE" && item.event.payload.key === "logging.level") {
        event = item.event;
        break;
      }
    }
    events.close();
    expect(event?.payload).toMatchObject({ key: "logging.level", by: "carol" });
    // The security log has who, key, old and new.
    const audit = (await (await server.request("/api/security/events")).json()) as { events: Array<{ type: string; actor: string | null; details: Record<string, unknown> }> };
    expect(audit.events.find((row) => row.type === "config_changed")).toMatchObject({ actor: "carol", details: { key: "logging.level", old: "info", new: "warn" } });
    // Back to info (null removes the runtime value: the cli layer's info wins again).
    expect(await (await patch({ "logging.level": null })).json()).toEqual({ changed: [{ key: "logging.level", old: "warn", new: "info" }] });
    server.logger.child({ part: "made-after-the-reset" }).info("config-test: info once more");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.logs.some((line) => line.includes("config-test: info once more"))).toBe(true);
  });

  it("refuses a restart-only setting and a locked key with 409, applying nothing", async () => {
    const restart = await patch({ "logging.level": "debug", "gateway.maxResponseBytes": 1048576 });
    expect(restart.status).toBe(409);
    const restartBody = (await restart.json()) as { error: { code: string; message: string } };
    expect(restartBody.error.code).toBe("config_restart_required");
    expect(restartBody.error.message).toContain("gateway.maxResponseBytes");
    const locked = await patch({ "gateway.retries": 4 });
    expect(locked.status).toBe(409);
    const lockedBody = (await locked.json()) as { error: { code: string; message: string } };
    expect(lockedBody.error.code).toBe("config_locked");
    expect(lockedBody.error.message).toContain(systemFile);
    const invalid = await patch({ "logging.level": "loud" });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    expect((await patch({ "__proto__.polluted": 1 })).status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const view = (await (await server.request("/api/config", { token: configAdmin })).json()) as { config: { logging: { level: string }; gateway: { deadlineMs: number; retries: number } } };
    expect(view.config.logging.level).toBe("info");
    expect(view.config.gateway).toMatchObject({ deadlineMs: 90000, retries: 2 });
  });

  it("needs config:admin", async () => {
    const reader = await mintToken(server, ["services:read", "metrics:read"], "dave");
    expect((await patch({ "logging.level": "debug" }, reader)).status).toBe(403);
    expect((await server.request("/api/config/explain?key=logging.level", { token: reader })).status).toBe(403);
    expect((await server.request("/api/config", { token: reader })).status).toBe(403);
  });
});
