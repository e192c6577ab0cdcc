/**
 * `kai artifact` end to end: the built CLI against a real node. Upload a file (tags, sniffed type) and stdin, show,
 * list by tag, download whole and by range (never overwriting a file), share (a link that opens without a token) and
 * revoke, delete; an unknown artifact exits with the not-found code.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../src/exit-codes.js";
import { useCliNode } from "./helpers.js";

const node = useCliNode({ scopes: ["artifacts:read", "artifacts:write"] });
const kai = (args: string[], input?: string) => node.kai(args, input !== undefined ? { input } : {});

describe("kai artifact", () => {
  it("uploads, shows, lists, downloads (whole and a range), shares, revokes and deletes", async () => {
    const file = join(node.box.dir, "report.json");
    writeFileSync(file, JSON.stringify({ quarter: 3, revenue: 42 }));
    const uploaded = await kai(["artifact", "upload", file, "--tag", "q3,reports", "--type", "application/json"]);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const id = uploaded.stdout.trim();
    expect(id).toMatch(/^art_/);

    const shown = await kai(["artifact", "show", id]);
    expect(shown.stdout).toMatch(/^name:\s+report\.json$/m);
    expect(shown.stdout).toMatch(/^type:\s+application\/json$/m);
    expect(shown.stdout).toMatch(/^tags:\s+q3, reports$/m);
    const previewed = await kai(["artifact", "show", id, "--preview"]);
    expect(previewed.stdout).toContain('"quarter": 3');

    const listed = await kai(["artifact", "list", "--tag", "q3", "--json"]);
    expect((JSON.parse(listed.stdout) as { artifacts: Array<{ id: string }> }).artifacts.map((item) => item.id)).toEqual([id]);

    const copy = join(node.box.dir, "copy.json");
    expect((await kai(["artifact", "download", id, "-o", copy])).code).toBe(0);
    expect(readFileSync(copy, "utf8")).toBe(readFileSync(file, "utf8"));
    // Never overwritten.
    expect((await kai(["artifact", "download", id, "-o", copy])).code).not.toBe(0);
    const part = await kai(["artifact", "download", id, "-o", "-", "--range", "0-9"]);
    expect(part.stdout).toBe('{"quarter"');

    const shared = await kai(["artifact", "share", id, "--ttl", "10m", "--json"]);
    const share = (JSON.parse(shared.stdout) as { share: { id: string; url: string } }).share;
    expect(await (await fetch(share.url)).text()).toBe(readFileSync(file, "utf8"));
    expect((await kai(["artifact", "share", id, "--revoke", share.id])).code).toBe(0);
    expect((await fetch(share.url)).status).toBe(403);

    expect((await kai(["artifact", "delete", id])).code).toBe(0);
    const gone = await kai(["artifact", "show", id]);
    expect(gone.code).toBe(EXIT.notFound);
  });

  it("uploads stdin, and the same bytes under the same name again are the same artifact", async () => {
    const first = await kai(["artifact", "upload", "-", "--name", "notes.txt"], "from stdin\n");
    expect(first.code, first.stderr).toBe(0);
    const again = await kai(["artifact", "upload", "-", "--name", "notes.txt"], "from stdin\n");
    expect(again.stdout.trim()).toBe(first.stdout.trim());
    expect(again.stderr).toContain("already had it");
  });

  it("refuses a TTL over seven days before calling the node", async () => {
    const result = await kai(["artifact", "share", "art_00000000000000000000", "--ttl", "8d"]);
    expect(result.code).toBe(EXIT.usage);
  });
});
