/**
 * What `kai services apply` says about a manifest it refuses, read as a person and a script would: every bad entry
 * listed (an entry without an id among them), each by its index and id and by the field's name in the file; the whole
 * of a long error through a pipe; a syntax error's line and column; an empty file or a directory said as such. Every
 * refusal here comes from the check before anything is sent, so no node is needed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "@kai/protocol";
import { runKai, sandbox, type Sandbox } from "./helpers.js";

let box: Sandbox;

/** The check on the main thread only, and on two threads whatever this machine's cores (the parallel check's path). */
const ONE_THREAD = { KAI_APPLY_THREADS: "1" };
const TWO_THREADS = { KAI_APPLY_THREADS: "2" };

const apply = (file: string, flags: string[] = [], env: NodeJS.ProcessEnv = ONE_THREAD) =>
  runKai(["services", "apply", "-f", file, ...flags], { cwd: box.dir, env: { ...box.env, ...env } });

function write(name: string, text: string): string {
  const file = join(box.dir, name);
  writeFileSync(file, text);
  return file;
}

/** A JSON manifest of `count` entries `<prefix>-<i>`, each with a bad endpoint unless `good` says otherwise. */
function jsonManifest(name: string, prefix: string, count: number, change: (entry: Record<string, unknown>, index: number) => void = () => {}): string {
  const services = Array.from({ length: count }, (_, index) => {
    const entry: Record<string, unknown> = { id: `${prefix}-${index}`, endpoint: `http://127.0.0.1:9/${index}` };
    change(entry, index);
    return entry;
  });
  return write(name, JSON.stringify({ services }));
}

/** The error body `--json` writes on stderr's last line. */
const errorBody = (stderr: string) => JSON.parse(stderr.trimEnd().split("\n").at(-1)!) as ErrorBody;
/** The detail lines of the error printed for people. */
const detailLines = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("  - "));

beforeAll(() => {
  box = sandbox();
});

afterAll(() => {
  box?.cleanup();
});

describe("kai services apply refusing a manifest", () => {
  it("writes the whole of a long error to a pipe: 20,000 bad entries, then the --json error body", async () => {
    // ~1 MB of error on stderr, which is a pipe here: the CLI once exited once stdout had drained, and stderr stopped
    // at the pipe's 64 KiB, mid-line, without the JSON body.
    const file = jsonManifest("allbad.json", "gen", 20_000, (entry) => (entry.endpoint = "not a url"));
    const result = await apply(file, ["--json"], TWO_THREADS);
    expect(result.code).toBe(6);
    expect(result.stderr.length).toBeGreaterThan(2 * 65_536);
    const lines = detailLines(result.stderr);
    expect(lines).toHaveLength(20_000);
    expect(lines.at(-1)).toBe("  - services.19999 (gen-19999).endpoint: Invalid URL");
    const body = errorBody(result.stderr);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details).toHaveLength(20_000);
    expect(body.error.details?.at(-1)).toEqual({ path: "services.19999.endpoint", message: "Invalid URL", entry: "gen-19999" });
  });

  it("lists an entry without an id, or with a bad token_env name, as one more bad entry beside the others (exit 6)", async () => {
    const file = write(
      "mixed.yaml",
      [
        "services:",
        "  - id: fine",
        "  - name: No id",
        "    endpoint: not a url",
        "  - id: 5",
        "  - id: env",
        "    auth: { type: bearer_token, token_env: 1BAD }",
        "    trust_level: sideways",
        "  - just a string",
        "  - id: typo",
        "    endpoint: also not a url",
        "",
      ].join("\n"),
    );
    const result = await apply(file, ["--json"]);
    expect(result.code).toBe(6);
    expect(result.stderr).toContain("mixed.yaml: 7 invalid field(s); nothing was applied (validation_failed)");
    expect(detailLines(result.stderr).map((line) => line.split(": ")[0])).toEqual([
      "  - services.1.id",
      "  - services.1.endpoint",
      "  - services.2.id",
      "  - services.3 (env).auth.token_env",
      "  - services.3 (env).trust_level",
      "  - services.4",
      "  - services.5 (typo).endpoint",
    ]);
    expect(errorBody(result.stderr).error.details?.map(({ path, entry }) => ({ path, entry }))).toEqual([
      { path: "services.1.id" },
      { path: "services.1.endpoint" },
      { path: "services.2.id" },
      { path: "services.3.auth.token_env", entry: "env" },
      { path: "services.3.trust_level", entry: "env" },
      { path: "services.4" },
      { path: "services.5.endpoint", entry: "typo" },
    ]);
  });

  it("refuses an entry without an id in any thread's part as the one-thread check does", async () => {
    const file = jsonManifest("threads-no-id.json", "no-id", 3000, (entry, index) => {
      if (index === 2600) delete entry.id;
      if (index === 2700) entry.endpoint = "not a url";
    });
    const threaded = await apply(file, [], TWO_THREADS);
    const reference = await apply(file, [], ONE_THREAD);
    expect(threaded.code).toBe(6);
    expect(detailLines(threaded.stderr)).toEqual([
      "  - services.2600.id: Invalid input: expected string, received undefined",
      "  - services.2700 (no-id-2700).endpoint: Invalid URL",
    ]);
    expect(threaded.stderr).toBe(reference.stderr);
  });

  it("is a usage error (exit 2) only for a document that is no manifest at all", async () => {
    for (const text of ["id: x\nname: y\n", "- id: x\n", "services: {id: x}\n", "services: []\nextra: 1\n"]) {
      const result = await apply(write("other.yaml", text));
      expect(result.code, text).toBe(2);
      expect(result.stderr, text).toContain("not a service manifest");
    }
  });

  it("says a JSON syntax error's line and column, also when Node names no position", async () => {
    const base = JSON.stringify({ services: Array.from({ length: 3000 }, (_, index) => ({ id: `syntax-${index}`, endpoint: `http://127.0.0.1:9/${index}` })) }, null, 1);
    // `"id": tru` on line 10,004 (two lines of outline, then four an entry): JSON.parse names no position for it.
    const unexpected = write("unexpected.json", base.replace('"id": "syntax-2500"', '"id": tru'));
    for (const env of [ONE_THREAD, TWO_THREADS]) {
      const result = await apply(unexpected, [], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: .*unexpected\.json: not valid JSON at line 10004, column 13: Unexpected token ','/);
    }
    const doubled = write("doubled.json", base.replace('"id": "syntax-10",', '"id": "syntax-10",,'));
    const result = await apply(doubled);
    expect(result.stderr).toMatch(/not valid JSON at line 44, column 22: Expected double-quoted property name in JSON at position \d+ \(usage\)/);
  });

  it("says a YAML syntax error whole, with its line and column (no dangling colon)", async () => {
    const result = await apply(write("indent.yaml", "services:\n  - id: a\n  - id: b\n  bad\n"));
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: ${join(box.dir, "indent.yaml")}: not valid YAML at line 4, column 3: bad indentation of a mapping entry (usage)\n`);
    const duplicate = await apply(write("duplicate.yaml", "services:\n  - id: a\n    name: A\n    name: B\n"));
    expect(duplicate.stderr).toContain("not valid YAML at line 4, column 5: duplicated mapping key (usage)\n");
  });

  it("says an empty file is empty, and a directory is one, on one thread or several, as `kai services register` does", async () => {
    const empty = write("empty.yaml", "");
    const comments = write("comments.yaml", "# nothing yet\n");
    const folder = join(box.dir, "folder.yaml");
    mkdirSync(folder);
    const said: Array<[string, string]> = [
      [empty, `${empty} is empty`],
      [comments, `${comments}: the document is empty (nothing but comments or null)`],
      [folder, `${folder}: is a directory, not a file`],
    ];
    for (const [file, message] of said) {
      for (const env of [ONE_THREAD, TWO_THREADS]) {
        const result = await apply(file, [], env);
        expect(result.code, file).toBe(2);
        expect(result.stderr, file).toBe(`error: ${message} (usage)\n`);
      }
      const registered = await runKai(["services", "register", "-f", file], { cwd: box.dir, env: box.env });
      expect(registered.stderr, file).toBe(`error: ${message} (usage)\n`);
    }
  });
});
