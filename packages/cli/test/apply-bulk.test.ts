/**
 * `kai services apply` at scale (issue 19): a manifest of thousands of entries goes through `POST /api/services/bulk`
 * in batches of up to 1000 changed entries, up to four on their way at once, with progress on stderr; unchanged
 * entries are skipped; a batch the server refuses stops the apply: the batches before it stay applied, it does not,
 * those sent with it stand alone (and are reported), and nothing is sent after it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

const kai = (args: string[], token = server.adminToken, env: NodeJS.ProcessEnv = {}) =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token, ...env } });
/** The check on the main thread only (the reference the parallel check must agree with). */
const ONE_THREAD = { KAI_APPLY_THREADS: "1" };
/** The check on two threads, whatever this machine's cores (a manifest of at least 2,000 entries is split). */
const TWO_THREADS = { KAI_APPLY_THREADS: "2" };

/** A JSON manifest of `count` services `<prefix>-<i>`; `change` may alter an entry. */
function writeManifest(name: string, prefix: string, count: number, change: (entry: Record<string, unknown>, index: number) => void = () => {}): string {
  const services = Array.from({ length: count }, (_, index) => {
    const entry: Record<string, unknown> = { id: `${prefix}-${index}`, name: `Bulk ${index}`, endpoint: `http://127.0.0.1:9/${index}` };
    change(entry, index);
    return entry;
  });
  const file = join(box.dir, name);
  writeFileSync(file, JSON.stringify({ services }));
  return file;
}

const counts = (stdout: string) => {
  const tally: Record<string, number> = {};
  for (const result of (JSON.parse(stdout) as { results: { action: string }[] }).results) tally[result.action] = (tally[result.action] ?? 0) + 1;
  return tally;
};
const progressLines = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("applied "));

async function exists(id: string): Promise<boolean> {
  const response = await fetch(`${server.url}/api/services/${id}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  return response.status === 200;
}

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai services apply in batches", () => {
  it("applies 2,500 entries in three batches, then skips the unchanged ones on a second apply", async () => {
    const file = writeManifest("bulk.json", "bulk", 2500);
    const first = await kai(["services", "apply", "-f", file, "--json", "--progress"]);
    expect(first.code, first.stderr).toBe(0);
    expect(counts(first.stdout)).toEqual({ created: 2500 });
    expect(progressLines(first.stderr)).toEqual(["applied 1,000/2,500", "applied 2,000/2,500", "applied 2,500/2,500"]);
    expect(await exists("bulk-2499")).toBe(true);

    // 100 renamed in the middle: one batch of 100, the 2,400 others left alone.
    writeManifest("bulk.json", "bulk", 2500, (entry, index) => {
      if (index >= 1200 && index < 1300) entry.name = `Renamed ${index}`;
    });
    const second = await kai(["services", "apply", "-f", file, "--json", "--progress"]);
    expect(second.code, second.stderr).toBe(0);
    expect(counts(second.stdout)).toEqual({ unchanged: 2400, updated: 100 });
    expect(progressLines(second.stderr)).toEqual(["applied 2,500/2,500"]);
    const results = (JSON.parse(second.stdout) as { results: { id: string }[] }).results;
    expect(results.map((result) => result.id)).toEqual(Array.from({ length: 2500 }, (_, index) => `bulk-${index}`));
  });

  it("stops at a refused batch: the batches before it are applied, it is not, and one already on its way stands alone", async () => {
    const alice = await aliceToken();
    // Entry 1500 names an id another owner holds (private: alice cannot see it, so it counts as new and is sent).
    const file = writeManifest("refused.json", "part", 2500, (entry, index) => {
      if (index === 1500) entry.id = "held-by-bob";
    });
    // Four on their way: all three batches go out at once, so the third is on its way before the refusal is known.
    const result = await kai(["services", "apply", "-f", file, "--progress", "--in-flight", "4"], alice);
    expect(result.code).toBe(5);
    expect(progressLines(result.stderr)).toEqual(["applied 1,000/2,500"]);
    expect(result.stderr).toContain("batch 2 (manifest entries 1001-2000, 1000 changed) was refused, so none of it was applied");
    expect(result.stderr).toContain("services.1500 (held-by-bob)");
    expect(result.stderr).toContain("entries 1-1000 of 2500 (1000 created, 0 updated, 0 unchanged)");
    expect(result.stderr).toContain("sent before the refusal was known and applied after it: batch 3 (entries 2001-2500) (500 created, 0 updated, 0 unchanged)");
    expect(result.stderr).toContain("entries 1001-2000 were not applied");
    const printed = result.stdout.trimEnd().split("\n");
    expect(printed).toHaveLength(1500);
    expect(printed[999]).toBe("created   part-999");
    expect(printed[1000]).toBe("created   part-2000");
    expect(await exists("part-999")).toBe(true);
    expect(await exists("part-1000")).toBe(false);
    expect(await exists("part-1999")).toBe(false);
    expect(await exists("part-2499")).toBe(true);
    // Applied again once the entry is fixed: only what was not applied is sent.
    writeManifest("refused.json", "part", 2500);
    const again = await kai(["services", "apply", "-f", file, "--json"], alice);
    expect(again.code, again.stderr).toBe(0);
    expect(counts(again.stdout)).toEqual({ created: 1000, unchanged: 1500 });
  });

  it("says which entries a refused apply left unchanged, not applied or applied, also on stdout with --json", async () => {
    const alice = await aliceToken();
    const file = writeManifest("refused-late.json", "late", 3000, (entry, index) => {
      if (index === 2500) entry.id = "held-by-bob";
    });
    // One at a time: batches 1 and 2 applied, batch 3 refused. --json still prints what was done, marked incomplete.
    const first = await kai(["services", "apply", "-f", file, "--json", "--in-flight", "1"], alice);
    expect(first.code).toBe(5);
    const document = JSON.parse(first.stdout) as { complete: boolean; results: { id: string; action: string }[] };
    expect(document.complete).toBe(false);
    expect(counts(first.stdout)).toEqual({ created: 2000 });
    expect(document.results.at(-1)).toEqual({ id: "late-1999", action: "created" });
    expect(JSON.parse(first.stderr.trimEnd().split("\n").at(-1)!) as { error: { code: string } }).toMatchObject({ error: { code: "conflict" } });

    // Again: entries 1-2000 agree with the registry and gather into the window of the batch that is refused.
    const again = await kai(["services", "apply", "-f", file], alice);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain("batch 1 (manifest entries 2001-3000, 1000 changed) was refused");
    expect(again.stderr).toContain("2000 entries among the batches not applied already matched the registry (unchanged)");
    expect(again.stderr).toContain("entries 2001-3000 were not applied");
    const printed = again.stdout.trimEnd().split("\n");
    expect(printed).toHaveLength(2000);
    expect(printed[1999]).toBe("unchanged late-1999");
  });

  it("sends no batch after a refused one: those on their way with it are reported, the rest never sent", async () => {
    const alice = await aliceToken();
    const file = writeManifest("first-refused.json", "first", 6000, (entry, index) => {
      if (index === 10) entry.id = "held-by-bob";
    });
    // Two on their way by default: batch 2 went out with batch 1, nothing after.
    const result = await kai(["services", "apply", "-f", file, "--progress"], alice);
    expect(result.code).toBe(5);
    expect(progressLines(result.stderr)).toEqual([]);
    expect(result.stderr).toContain("batch 1 (manifest entries 1-1000, 1000 changed) was refused");
    expect(result.stderr).toContain("Applied before it: 0 batch(es) covering no entries of 6000");
    expect(result.stderr).toContain("applied after it: batch 2 (entries 1001-2000) (1000 created");
    expect(result.stderr).toContain("entries 1-1000, 2001-6000 were not applied");
    expect(await exists("first-0")).toBe(false);
    expect(await exists("first-1999")).toBe(true);
    expect(await exists("first-2000")).toBe(false);
    expect(await exists("first-5999")).toBe(false);

    // Four on their way: batches 2-4 went out with batch 1 and stand alone; 4001-6000 were never sent.
    const wider = writeManifest("first-refused-4.json", "wide", 6000, (entry, index) => {
      if (index === 10) entry.id = "held-by-bob";
    });
    const four = await kai(["services", "apply", "-f", wider, "--in-flight", "4"], alice);
    expect(four.code).toBe(5);
    expect(four.stderr).toContain("applied after it: batch 2 (entries 1001-2000), batch 3 (entries 2001-3000), batch 4 (entries 3001-4000) (3000 created");
    expect(four.stderr).toContain("entries 1-1000, 4001-6000 were not applied");
    expect(await exists("wide-3999")).toBe(true);
    expect(await exists("wide-4000")).toBe(false);
  });
});

/**
 * A large JSON manifest is checked on several threads (`manifest-check/parallel-check.ts`), each taking a run of the
 * entries: what is applied, what is printed and every refusal must be as when one thread checks the whole file.
 */
describe("kai services apply checked on several threads", () => {
  it("applies what one thread would, and finds the same entries unchanged on a second apply", async () => {
    const change = (entry: Record<string, unknown>, index: number) => {
      if (index % 500 === 7) entry.metadata = { note: `entry ${index}`, "ünïcode": "日本語 🚀", nested: { list: [1, "two", { three: 3 }] } };
      if (index === 2999) entry.owner = "bench-owner";
    };
    const threaded = writeManifest("threads-a.json", "threads-a", 3000, change);
    const single = writeManifest("threads-b.json", "threads-b", 3000, change);
    const first = await kai(["services", "apply", "-f", threaded, "--json", "--progress"], server.adminToken, TWO_THREADS);
    const reference = await kai(["services", "apply", "-f", single, "--json", "--progress"], server.adminToken, ONE_THREAD);
    expect(first.code, first.stderr).toBe(0);
    expect(reference.code, reference.stderr).toBe(0);
    expect(counts(first.stdout)).toEqual({ created: 3000 });
    expect(progressLines(first.stderr)).toEqual(progressLines(reference.stderr));
    expect(first.stderr).toContain("checked 3,000 entries on 2 threads\n");
    expect(reference.stderr).toContain("checked 3,000 entries on 1 thread\n");
    const stored = async (id: string) => {
      const response = await fetch(`${server.url}/api/services/${id}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
      const record = (await response.json()) as Record<string, unknown>;
      // What differs by design: the id, the name and URL (numbered), the file it came from, and the times.
      const same = Object.entries(record).filter(([key]) => !/^(id|name|url|revision|heartbeat)$|At$/.test(key));
      return { ...Object.fromEntries(same), metadata: { ...(record.metadata as object), appliedFrom: undefined } };
    };
    // The records written from the threads' encoded bodies are those written from the registrations themselves.
    for (const index of [0, 7, 1507, 2999]) {
      expect(await stored(`threads-a-${index}`)).toEqual(await stored(`threads-b-${index}`));
    }
    // Unchanged entries are found by comparing with the registrations parsed back from those bodies.
    const again = await kai(["services", "apply", "-f", threaded, "--json"], server.adminToken, TWO_THREADS);
    expect(again.code, again.stderr).toBe(0);
    expect(counts(again.stdout)).toEqual({ unchanged: 3000 });
  });

  it("refuses a bad entry in any thread's part with the ordinary check's words, and writes nothing", async () => {
    const file = writeManifest("threads-bad.json", "threads-bad", 3000, (entry, index) => {
      if (index === 2600) entry.endpoint = "not a url";
    });
    const threaded = await kai(["services", "apply", "-f", file], server.adminToken, TWO_THREADS);
    const reference = await kai(["services", "apply", "-f", file], server.adminToken, ONE_THREAD);
    expect(threaded.code).toBe(6);
    expect(threaded.stderr).toContain("- services.2600 (threads-bad-2600).endpoint: Invalid URL");
    expect(threaded.stderr).toBe(reference.stderr);
    expect(await exists("threads-bad-0")).toBe(false);
  });

  it("refuses an id named in two threads' parts", async () => {
    const file = writeManifest("threads-repeat.json", "threads-repeat", 3000, (entry, index) => {
      if (index === 2900) entry.id = "threads-repeat-5";
    });
    const result = await kai(["services", "apply", "-f", file], server.adminToken, TWO_THREADS);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('services.2900 (threads-repeat-5).id: duplicate id "threads-repeat-5"');
    expect(await exists("threads-repeat-0")).toBe(false);
  });

  it("refuses a syntax error inside an entry as the ordinary check does", async () => {
    const file = writeManifest("threads-syntax.json", "threads-syntax", 3000);
    writeFileSync(file, readFileSync(file, "utf8").replace('"id":"threads-syntax-2500"', '"id":"threads-syntax-2500",'));
    const threaded = await kai(["services", "apply", "-f", file], server.adminToken, TWO_THREADS);
    expect(threaded.code).toBe(2);
    expect(threaded.stderr).toContain("not valid JSON");
    expect(threaded.stderr).toBe((await kai(["services", "apply", "-f", file], server.adminToken, ONE_THREAD)).stderr);
  });

  it("checks a manifest over 1 MiB as the scan goes (threads started before reading): same results, same refusals", async () => {
    // A long description makes 3,000 entries ~1.5 MB: the threads start before the file is read and get each run of
    // 1,000 entries as the scan finds it.
    const padded = (entry: Record<string, unknown>) => (entry.description = "d".repeat(450));
    const file = writeManifest("threads-large.json", "threads-large", 3000, padded);
    expect(statSync(file).size).toBeGreaterThan(1 << 20);
    const result = await kai(["services", "apply", "-f", file, "--json", "--progress", "--dry-run"], server.adminToken, TWO_THREADS);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("checked 3,000 entries on 2 threads\n");
    const results = (JSON.parse(result.stdout) as { results: { id: string; action: string }[] }).results;
    expect(results.map((entry) => entry.id)).toEqual(Array.from({ length: 3000 }, (_, index) => `threads-large-${index}`));

    // A bad entry in the last run, and text after the document (found only once every run went out): refused with
    // the ordinary check's words, nothing written.
    const bad = writeManifest("threads-large-bad.json", "threads-large-bad", 3000, (entry, index) => {
      padded(entry);
      if (index === 2600) entry.endpoint = "not a url";
    });
    const trailing = writeManifest("threads-large-trailing.json", "threads-large-trailing", 3000, padded);
    writeFileSync(trailing, `${readFileSync(trailing, "utf8")} x`);
    for (const refused of [bad, trailing]) {
      const threaded = await kai(["services", "apply", "-f", refused], server.adminToken, TWO_THREADS);
      expect(threaded.code).not.toBe(0);
      expect(threaded.stderr).toBe((await kai(["services", "apply", "-f", refused], server.adminToken, ONE_THREAD)).stderr);
    }
    expect(await exists("threads-large-bad-0")).toBe(false);
    expect(await exists("threads-large-trailing-0")).toBe(false);
  });

  it("warns of each unset token_env variable once, in the manifest's order", async () => {
    const file = writeManifest("threads-env.json", "threads-env", 3000, (entry, index) => {
      if (index === 100 || index === 2800) entry.auth = { type: "bearer_token", token_env: `KAI_TEST_UNSET_${index}` };
    });
    const result = await kai(["services", "apply", "-f", file, "--dry-run"], server.adminToken, TWO_THREADS);
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stderr.split("\n").filter((line) => line.includes("is not set"));
    expect(warnings).toEqual([expect.stringContaining("threads-env-100: KAI_TEST_UNSET_100"), expect.stringContaining("threads-env-2800: KAI_TEST_UNSET_2800")]);
  });

  it("reads a manifest from a pipe to its end (no size to split it by: checked the ordinary way)", async () => {
    const fifo = join(box.dir, "piped.json");
    execFileSync("mkfifo", [fifo]);
    const services = Array.from({ length: 2500 }, (_, index) => ({ id: `piped-${index}`, name: `Piped ${index}` }));
    // Opening a pipe for writing waits for its reader: the write finishes once kai has read it all.
    const written = writeFile(fifo, JSON.stringify({ services })).then(() => null, (error: unknown) => error);
    const result = await kai(["services", "apply", "-f", fifo, "--json", "--progress"], server.adminToken, TWO_THREADS);
    // The writer got everything in (a reader that let go early would have cost it an EPIPE).
    expect(await written).toBeNull();
    expect(result.code, result.stderr).toBe(0);
    expect(counts(result.stdout)).toEqual({ created: 2500 });
    expect(result.stderr).toContain("checked 2,500 entries on 1 thread\n");
  });

  it("refuses a KAI_APPLY_THREADS that is not a whole number from 1", async () => {
    const file = writeManifest("threads-usage.json", "threads-usage", 10);
    const result = await kai(["services", "apply", "-f", file], server.adminToken, { KAI_APPLY_THREADS: "0" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("KAI_APPLY_THREADS");
  });
});

/** A token of owner alice, who may not write bob's service `held-by-bob` (registered here once). */
async function aliceToken(): Promise<string> {
  const created = await fetch(`${server.url}/api/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ scopes: ["services:read", "services:write"], owner: "alice" }),
  });
  if (!(await exists("held-by-bob"))) {
    const taken = await fetch(`${server.url}/api/services/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "held-by-bob", name: "Bob's", owner: "bob", visibility: "private" }),
    });
    expect(taken.status).toBe(201);
  }
  return ((await created.json()) as { token: string }).token;
}
