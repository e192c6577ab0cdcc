/**
 * `kai prompt` end to end: the built CLI against a real node. `save` from a text on stdin with `--var` declarations and
 * from a YAML file, `show` by label (an unknown label exits 3), `history`, `diff`, `restore`, `label`, `render` with
 * `--var name=value` typed by the declarations (a missing variable exits 6 with `prompt_variables_invalid`), `list
 * --search`, `delete`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useCliNode } from "./helpers.js";

const node = useCliNode({ scopes: ["prompts:read", "prompts:write"] });
const kai = (args: string[], input?: string) => node.kai(args, input !== undefined ? { input } : {});

describe("kai prompt", () => {
  it("saves versions, shows them by label, lists history, diffs and restores", async () => {
    const first = await kai(["prompt", "save", "welcome", "--text", "-", "--var", "name", "--var", "count:number", "--tag", "cli", "-m", "first"], "Hello {{name}}, you have {{count}} messages");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe("welcome version 1");
    const file = join(node.box.dir, "welcome.yaml");
    writeFileSync(file, "template:\n  - role: system\n    content: Be brief.\n  - role: user\n    content: Hi {{name}}\nvariables:\n  - name: name\nlabels: [staging]\n");
    const second = await kai(["prompt", "save", "welcome", "-f", file]);
    expect(second.code, second.stderr).toBe(0);
    expect((await kai(["prompt", "label", "welcome", "production", "1"])).code).toBe(0);

    const shown = await kai(["prompt", "show", "welcome", "--label", "production"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^version:\s+1 of 2$/m);
    expect(shown.stdout).toContain("Hello {{name}}, you have {{count}} messages");
    const unknown = await kai(["prompt", "show", "welcome", "--label", "canary"]);
    expect(unknown.code).toBe(3);

    const history = await kai(["prompt", "history", "welcome"]);
    expect(history.stdout).toMatch(/^2\s/m);
    expect(history.stdout).toMatch(/^1\s.*first$/m);
    const diff = await kai(["prompt", "diff", "welcome", "1", "2"]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain("-Hello {{name}}, you have {{count}} messages");
    expect(diff.stdout).toContain("+system: Be brief.");
    expect(diff.stdout).toMatch(/^variables removed:\s+count$/m);
    expect((await kai(["prompt", "label", "welcome", "staging", "--remove"])).code).toBe(0);
    expect((await kai(["prompt", "show", "welcome", "--label", "staging"])).code).toBe(3);
    expect((await kai(["prompt", "label", "welcome", "staging"])).code).toBe(2);
    const restored = await kai(["prompt", "restore", "welcome", "1"]);
    expect(restored.stdout.trim()).toBe("welcome version 3 (restored from 1)");
  });

  it("says to declare with --var when the template uses a variable it does not declare, and saves nothing", async () => {
    const undeclared = await kai(["prompt", "save", "greeting", "--text", "-", "--var", "name"], "Hi {{name}} from {{city}}");
    expect(undeclared.code).toBe(6);
    expect(undeclared.stderr).toContain("prompt_template_invalid");
    expect(undeclared.stderr).toContain("declare each variable the template uses with --var name[:type][?] (here: --var city)");
    expect((await kai(["prompt", "show", "greeting"])).code).toBe(3);
  });

  it("renders with typed --var values and exits 6 when a variable is missing", async () => {
    const rendered = await kai(["prompt", "render", "welcome", "--version", "1", "--var", "name=Ada", "--var", "count=3"]);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout.trim()).toBe("Hello Ada, you have 3 messages");
    const chat = await kai(["prompt", "render", "welcome", "--version", "2", "--var", "name=Bo"]);
    expect(chat.stdout.trim()).toBe("system: Be brief.\nuser: Hi Bo");
    const missing = await kai(["prompt", "render", "welcome", "--version", "1", "--var", "name=Ada"]);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain("prompt_variables_invalid");
  });

  it("lists and searches, and deletes", async () => {
    const found = await kai(["prompt", "list", "--search", "messages"]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toMatch(/^welcome\s+3\s+/m);
    const json = await kai(["prompt", "list", "--json"]);
    expect((JSON.parse(json.stdout) as { prompts: unknown[] }).prompts).toHaveLength(1);
    expect((await kai(["prompt", "delete", "welcome"])).code).toBe(0);
    expect((await kai(["prompt", "show", "welcome"])).code).toBe(3);
  });
});
