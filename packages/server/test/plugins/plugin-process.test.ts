// Plugins in their own OS processes (issue 18): real child processes running the built host script (run `npm run
// build`, or `npx tsc -b packages/server`, first). A plugin answers invokes over IPC; one that throws answers an
// error and keeps running; one that hangs is stopped at its timeout; one that exits, or allocates past its heap cap,
// is reported as crashed; reading a file outside its folder, starting a process or writing a file is refused; the
// node's environment is not inherited; a message the protocol does not allow stops it; one that holds a core past its
// CPU share over the window is stopped (`overloaded`, measured from /proc, not from the plugin).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_EVENTS_IN_FLIGHT, PluginProcess } from "../../src/plugins/runtime/plugin-process.js";
import { parseProcStat, treeCpuSeconds } from "../../src/plugins/runtime/cpu-watchdog.js";
import { makePlugin } from "./plugin-fixtures.js";
import { missingPart } from "../helpers/real-parts.js";

// The CPU limit is the kernel's (prlimit, util-linux); without it the plugin still runs, with V8's heap cap only.
// No network for a plugin is an unprivileged network namespace (unshare, util-linux); some kernels forbid them.
const HAS_NETNS = spawnSync("unshare", ["--user", "--map-root-user", "--net", "--", "true"], { stdio: "ignore" }).status === 0
  || Boolean(missingPart("unprivileged network namespaces (unshare --user --net)", "apt-get install util-linux, and sysctl kernel.unprivileged_userns_clone=1"));
const HAS_PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].some((path) => existsSync(path)) || Boolean(missingPart("prlimit", "apt-get install util-linux"));

const root = mkdtempSync(join(tmpdir(), "kai-plugin-process-"));
const running: PluginProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((plugin) => plugin.stop()));
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
async function startPlugin(source: string, options: { invokeTimeoutMs?: number; maxOldSpaceMb?: number; maxDataMb?: number; cpuSeconds?: number; cpuPercent?: number; cpuWindowMs?: number; cpuSampleMs?: number; startTimeoutMs?: number } = {}): Promise<PluginProcess> {
  count += 1;
  const folder = makePlugin(root, `p${count}`, `id: p${count}\nname: P\nentrypoint: main.mjs\nversion: 1.0.0\n`, { "main.mjs": source, "data.txt": "inside the folder" });
  const plugin = await PluginProcess.start({ folder, entrypoint: "main.mjs", ...options });
  running.push(plugin);
  return plugin;
}

const CAPABILITIES = `
import { readFileSync, writeFileSync } from "node:fs";
import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";
const here = fileURLToPath(new URL(".", import.meta.url));
export default { capabilities: {
  echo: async (input) => ({ echoed: input, pid: process.pid }),
  fail: async () => { throw new Error("the plugin's own failure"); },
  read_own: () => readFileSync(here + "data.txt", "utf8"),
  read_outside: () => readFileSync("/etc/passwd", "utf8"),
  write: () => { writeFileSync(here + "out.txt", "x"); return "written"; },
  spawn: () => execSync("id").toString(),
  env: () => Object.keys(process.env),
  hang: () => { for (;;) {} },
  wait: () => new Promise(() => {}),
  exit: () => process.exit(3),
  grow: () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(keep.length)); },
  hoard: () => { const keep = []; for (let i = 0; i < 512; i++) keep.push(Buffer.alloc(1 << 20, i)); return "held " + keep.length + " MiB"; },
  connect: (port) => new Promise((resolve, reject) => {
    import("node:net").then(({ connect }) => {
      const socket = connect(port, "127.0.0.1", () => { socket.end(); resolve("connected"); });
      socket.on("error", reject);
    });
  }),
  rogue: () => { process.send({ type: "result", id: 999999, ok: true, output: "unasked" }); return new Promise(() => {}); },
} };
`;

describe("a plugin process", () => {
  it("answers invokes over IPC from its own process, and a plugin error is an error, not a crash", async () => {
    const plugin = await startPlugin(CAPABILITIES);
    expect(plugin.state).toBe("running");
    expect(plugin.capabilities).toEqual(expect.arrayContaining(["echo", "fail", "hang"]));
    const answer = (await plugin.invoke("echo", { text: "hi", n: [1, 2] })) as { echoed: unknown; pid: number };
    expect(answer.echoed).toEqual({ text: "hi", n: [1, 2] });
    expect(answer.pid).not.toBe(process.pid);
    await expect(plugin.invoke("fail", null)).rejects.toThrow(/the plugin's own failure/);
    await expect(plugin.invoke("nothing_here", null)).rejects.toThrow(/no capability nothing_here/);
    expect(await plugin.invoke("read_own", null)).toBe("inside the folder");
    expect(plugin.state).toBe("running");
  });

  it("refuses reads outside its folder, writes and child processes (Node's permission model), and sees none of the node's environment", async () => {
    process.env.KAI_PLUGIN_TEST_SECRET = "must not leak";
    try {
      const plugin = await startPlugin(CAPABILITIES);
      await expect(plugin.invoke("read_outside", null)).rejects.toThrow(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
      await expect(plugin.invoke("write", null)).rejects.toThrow(/ERR_ACCESS_DENIED|Access to this API has been restricted|EFBIG/);
      await expect(plugin.invoke("spawn", null)).rejects.toThrow(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
      const env = (await plugin.invoke("env", null)) as string[];
      expect(env).not.toContain("KAI_PLUGIN_TEST_SECRET");
      // Node's IPC channel, and bubblewrap's PWD (the plugin's own folder, its working folder).
      expect(env.filter((name) => name !== "NODE_CHANNEL_FD" && name !== "NODE_CHANNEL_SERIALIZATION_MODE" && name !== "PWD")).toEqual([]);
    } finally {
      delete process.env.KAI_PLUGIN_TEST_SECRET;
    }
  });

  it("is stopped when it does not answer within the timeout, and refuses calls afterwards", async () => {
    const plugin = await startPlugin(CAPABILITIES, { invokeTimeoutMs: 300 });
    const pid = plugin.pid as number;
    await expect(plugin.invoke("hang", null)).rejects.toThrow(/did not answer hang within 300 ms; it was stopped/);
    expect(plugin.state).toBe("hung");
    await expect(plugin.invoke("echo", 1)).rejects.toThrow(/the plugin is hung/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it("is reported as crashed when it exits, pending calls failing at once", async () => {
    const plugin = await startPlugin(CAPABILITIES);
    const slow = plugin.invoke("wait", null, 10_000).catch((error: unknown) => error);
    await expect(plugin.invoke("exit", null)).rejects.toThrow(/crashed: exited with code 3/);
    expect(String(await slow)).toMatch(/crashed/);
    expect(plugin.state).toBe("crashed");
    expect(plugin.reason).toBe("exited with code 3");
  });

  it("is reported as crashed when it allocates past its heap cap", async () => {
    const plugin = await startPlugin(CAPABILITIES, { maxOldSpaceMb: 32, invokeTimeoutMs: 20_000 });
    await expect(plugin.invoke("grow", null)).rejects.toThrow(/crashed/);
    expect(plugin.reason).toMatch(/memory limit \(32 MiB of heap/);
  }, 30_000);

  it("is stopped when it holds Buffers past its memory limit (RLIMIT_DATA: outside the V8 heap)", async () => {
    if (!HAS_PRLIMIT) return;
    // 512 MiB of Buffers in a plugin allowed 64 MiB of heap and 256 MiB in all: the kernel refuses the memory.
    const plugin = await startPlugin(CAPABILITIES, { maxOldSpaceMb: 64, maxDataMb: 256, invokeTimeoutMs: 20_000 });
    await expect(plugin.invoke("hoard", null)).rejects.toThrow(/crashed/);
    expect(plugin.reason).toMatch(/memory limit \(64 MiB of heap, 256 MiB in all\)/);
  }, 30_000);

  it("is stopped when it sends a message it was not asked for", async () => {
    const plugin = await startPlugin(CAPABILITIES);
    await expect(plugin.invoke("rogue", null)).rejects.toThrow(/failed: answered a call it was not asked/);
    expect(plugin.state).toBe("failed");
  });

  it("does not start when its entrypoint cannot load, and leaves nothing running", async () => {
    await expect(startPlugin("export default {;")).rejects.toThrow(/could not be loaded: SyntaxError/);
    await expect(startPlugin("while (true) {}", { startTimeoutMs: 1000 })).rejects.toThrow(/did not load within 1000 ms/);
  }, 20_000);

  it.skipIf(!HAS_NETNS)("reaches no socket without the network (its own empty network namespace), and the node's when given it", async () => {
    let connections = 0;
    let connected: () => void = () => undefined;
    const firstConnection = new Promise<void>((resolve) => (connected = resolve));
    const listener = createServer((socket) => {
      connections += 1;
      connected();
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const isolated = await startPlugin(CAPABILITIES);
      expect(isolated.isolation).toMatchObject({ networkNamespace: true, permissionModel: true });
      await expect(isolated.invoke("connect", port)).rejects.toThrow(/ECONNREFUSED|ENETUNREACH|EACCES/);
      expect(connections).toBe(0);
      count += 1;
      const folder = makePlugin(root, `p${count}`, `id: p${count}\nname: P\nentrypoint: main.mjs\nversion: 1.0.0\n`, { "main.mjs": CAPABILITIES });
      const networked = await PluginProcess.start({ folder, entrypoint: "main.mjs", network: true });
      running.push(networked);
      expect(networked.isolation.networkNamespace).toBe(false);
      expect(await networked.invoke("connect", port)).toBe("connected");
      // The plugin's answer can arrive before this process has taken the connection from its listener.
      await firstConnection;
      expect(connections).toBe(1);
    } finally {
      listener.close();
    }
  });

  it("is stopped past its CPU share over the window, measured from outside; an idle one beside it keeps running", async () => {
    // It answers, then holds a core at 100% with no call pending: no invoke timeout catches that, only its CPU share.
    const source = "export default { spin: () => { setTimeout(() => { for (;;) {} }, 10); return 'spinning'; }, ping: () => 'pong' };\n";
    const share = { cpuPercent: 20, cpuWindowMs: 2_000, cpuSampleMs: 200 };
    const idle = await startPlugin(source, share);
    const spinner = await startPlugin(source, share);
    const ended = new Promise<void>((resolve) => spinner.onEnded(resolve));
    expect(await spinner.invoke("spin", null)).toBe("spinning");
    await ended;
    expect(spinner.state).toBe("overloaded");
    expect(spinner.reason).toMatch(/^used \d+% of a CPU over 2 s, more than its share of 20%$/);
    // Killed, not asked: once its exit is in, its process is gone (bwrap's --die-with-parent takes the Node below it).
    await spinner.stop();
    expect(existsSync(`/proc/${spinner.pid}`)).toBe(false);
    expect(idle.state).toBe("running");
    expect(await idle.invoke("ping", null)).toBe("pong");
  }, 30_000);

  it("drops the events past its channel's backlog instead of holding them all in the node; the rest arrive in order", async () => {
    count += 1;
    const source = "const seen = []; export default { listen: async (_input, kai) => { await kai.events.subscribe((event) => seen.push(event.i)); return 'listening'; }, seen: () => [seen.length, seen.every((value, index) => value === index)] };\n";
    const folder = makePlugin(root, `p${count}`, `id: p${count}\nname: P\nentrypoint: main.mjs\nversion: 1.0.0\n`, { "main.mjs": source });
    const plugin = await PluginProcess.start({ folder, entrypoint: "main.mjs" }, async (method) => (method === "events.subscribe" ? { subscribed: ["REGISTRY_CHANGE"] } : null));
    running.push(plugin);
    expect(await plugin.invoke("listen", null)).toBe("listening");
    // A burst (a bulk load's registry changes) in one go: the first MAX_EVENTS_IN_FLIGHT are sent, the rest dropped.
    for (let i = 0; i < MAX_EVENTS_IN_FLIGHT + 500; i++) plugin.sendEvent({ i });
    expect(plugin.droppedEvents).toBe(500);
    // The invoke travels after them on the same channel: when it is answered, the plugin has had every one sent.
    expect(await plugin.invoke("seen", null)).toEqual([MAX_EVENTS_IN_FLIGHT, true]);
    plugin.sendEvent({ i: MAX_EVENTS_IN_FLIGHT });
    expect(await plugin.invoke("seen", null)).toEqual([MAX_EVENTS_IN_FLIGHT + 1, true]);
    expect(plugin.droppedEvents).toBe(500);
  });

  it("reads a process's CPU ticks after its name, whatever the name holds", () => {
    // proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = "4242 (a) b (c)) R 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 100 1000 10\n";
    expect(parseProcStat(line)).toEqual({ ppid: 17, ticks: 310 });
    expect(parseProcStat("garbage")).toBeNull();
  });

  it.skipIf(!existsSync("/proc/self/stat"))("counts the CPU of a grandchild in a process's tree, and answers null once the tree's root is gone", async () => {
    // sh → node that burns ~0.5 s of CPU (measured by its own CPU clock, not the wall's), then sh waits a while.
    const burn = "const s=process.cpuUsage();while(process.cpuUsage(s).user<500000);";
    const tree = spawn("sh", ["-c", `${JSON.stringify(process.execPath)} -e '${burn}'; sleep 30`], { stdio: "ignore" });
    try {
      let seconds = 0;
      for (let i = 0; i < 100 && seconds < 0.45; i++) {
        await new Promise((done) => setTimeout(done, 100));
        seconds = (await treeCpuSeconds(tree.pid!)) ?? 0;
      }
      expect(seconds).toBeGreaterThanOrEqual(0.45);
    } finally {
      tree.kill("SIGKILL");
    }
    await new Promise((done) => tree.once("exit", done));
    expect(await treeCpuSeconds(tree.pid!)).toBeNull();
  });

  it.skipIf(!HAS_PRLIMIT)("is ended by the kernel past its CPU limit", async () => {
    const plugin = await startPlugin(CAPABILITIES, { cpuSeconds: 1, invokeTimeoutMs: 20_000 });
    await expect(plugin.invoke("hang", null)).rejects.toThrow(/crashed/);
    expect(plugin.reason).toMatch(/SIGXCPU|SIGKILL/);
  }, 30_000);
});
