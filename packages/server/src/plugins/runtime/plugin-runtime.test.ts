/**
 * The plugin runtime follows the node-wide enabled set when this instance may have missed cluster signals: another
 * instance's enable and disable are written to the settings while their `plugins_changed` signals never arrive here,
 * then the signal path reports missed signals (`onMissed`) and the runtime reads the set again. Unit level: the
 * signals are a stand-in (the real signal path's missed report is tested in test/cluster/pg-cluster-reconnect.test.ts);
 * the settings are a real memory store and the catalog a real one over an empty plugins folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import { openStore } from "../../storage/index.js";
import type { StorageBackend } from "../../storage/contracts/storage-backend.js";
import { PluginCatalog } from "../plugin-catalog.js";
import type { PluginBus } from "./plugin-bus.js";
import { ENABLED_PLUGINS_KEY, PluginRuntime, type PluginRuntimeDeps } from "./plugin-runtime.js";

/** One instance's signals, cut off from the others: nothing arrives; the test says when signals were missed. */
class CutOffSignals implements Pick<ClusterSignals, "publish" | "subscribe" | "onMissed"> {
  readonly subscribed = new Set<string>();
  readonly missed = new Set<() => void>();
  async publish(): Promise<void> {}
  subscribe(name: string): () => void {
    this.subscribed.add(name);
    return () => void this.subscribed.delete(name);
  }
  onMissed(listener: () => void): () => void {
    this.missed.add(listener);
    return () => void this.missed.delete(listener);
  }
  tellMissed(): void {
    for (const listener of [...this.missed]) listener();
  }
}

const unused = (part: string) => new Proxy({}, { get: (_target, key) => () => { throw new Error(`${part}.${String(key)} was not expected to be called`); } });

let dir: string;
let store: StorageBackend;

afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("PluginRuntime and missed cluster signals", () => {
  it("reads the enabled set again when signals were missed, and stops listening when closed", async () => {
    dir = mkdtempSync(join(tmpdir(), "kai-runtime-missed-"));
    store = await openStore({ kind: "memory" });
    const catalog = new PluginCatalog({ enabled: true, dataDir: dir, paths: [], isTrustedKey: () => false });
    await catalog.scan();
    const signals = new CutOffSignals();
    const runtime = new PluginRuntime({
      catalog,
      settings: store,
      registry: unused("registry") as PluginRuntimeDeps["registry"],
      bus: unused("bus") as PluginBus,
      logger: pino({ level: "silent" }),
      signals,
    });
    await runtime.open();
    expect(signals.subscribed.has("plugins_changed")).toBe(true);
    expect(signals.missed.size).toBe(1);
    expect(runtime.viewOf("echo").enabled).toBe(false);

    // Another instance enables `echo`; its signal is lost on the way here.
    await store.setMeta(ENABLED_PLUGINS_KEY, JSON.stringify({ echo: { at: "2030-01-01T00:00:00.000Z", by: "admin" } }));
    // reload() queues behind whatever the runtime is doing: a barrier, not a wait.
    await runtime.reload();
    expect(runtime.viewOf("echo").enabled).toBe(false);
    signals.tellMissed();
    await runtime.reload();
    expect(runtime.viewOf("echo")).toMatchObject({ enabled: true, state: "disabled", reason: expect.stringMatching(/not runnable on this instance/) });

    // And disables it again, likewise unheard until the missed report.
    await store.setMeta(ENABLED_PLUGINS_KEY, JSON.stringify({}));
    signals.tellMissed();
    await runtime.reload();
    expect(runtime.viewOf("echo").enabled).toBe(false);

    await runtime.close();
    expect(signals.missed.size).toBe(0);
    expect(signals.subscribed.size).toBe(0);
  });
});
