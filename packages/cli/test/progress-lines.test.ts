/**
 * The step lines of `kai backup restore` and `kai storage copy`: a counting step ("services: 1000 copied", "services:
 * 2000 copied", …) is one line rewritten in place on a terminal, and a few lines (always its last count) in a log.
 */
import { describe, expect, it } from "vitest";
import { progressLines } from "../src/progress-lines.js";
import { createOutput } from "../src/output.js";

const RESTORE = ["vault secrets: 1 of 1 copied", "services: 1000 copied", "services: 2000 copied", "services: 3000 copied", "tokens: 1 copied", "verifying"];

describe("step lines of a long local job", () => {
  it("on a terminal, rewrites a counting step in place and starts each step on its own line", () => {
    let written = "";
    const steps = progressLines({ write: (text) => (written += text), terminal: true });
    for (const line of RESTORE) steps.line(line);
    steps.end();
    expect(written).toBe(
      "vault secrets: 1 of 1 copied\nservices: 1000 copied\r\u001b[Kservices: 2000 copied\r\u001b[Kservices: 3000 copied\ntokens: 1 copied\nverifying\n",
    );
  });

  it("elsewhere, prints a counting step at most once a period, and always its last count", () => {
    let written = "";
    let clock = 0;
    const steps = progressLines({ write: (text) => (written += text), terminal: false, everyMs: 5000, now: () => clock });
    steps.line("services: 1000 copied");
    for (let copied = 2000; copied <= 100_000; copied += 1000) {
      clock += 100;
      steps.line(`services: ${copied} copied`);
    }
    steps.line("tokens: 1 copied");
    steps.line("verifying");
    steps.end();
    // 100 lines over 9.9 s: the first, one 5 s later, and the last.
    expect(written).toBe("services: 1000 copied\nservices: 51000 copied\nservices: 100000 copied\ntokens: 1 copied\nverifying\n");
  });

  it("prints what a failed job had held back when it ends", () => {
    let written = "";
    const steps = progressLines({ write: (text) => (written += text), terminal: false, now: () => 0 });
    steps.line("services: 1000 copied");
    steps.line("services: 2000 copied");
    steps.end();
    expect(written).toBe("services: 1000 copied\nservices: 2000 copied\n");
  });

  it("through the CLI's output: nothing with --quiet, and what a terminal would act on made safe", () => {
    let written = "";
    const sink = { write: (text: string) => (written += text), isTTY: false };
    const quiet = createOutput({ json: false, quiet: true }, { out: sink, err: sink }).steps();
    quiet.line("services: 1000 copied");
    quiet.end();
    expect(written).toBe("");
    const steps = createOutput({ json: false, quiet: false }, { out: sink, err: sink }).steps();
    steps.line("copied x\u001b]0;title\u0007: 1");
    steps.end();
    expect(written).toBe("copied x\ufffd]0;title\ufffd: 1\n");
  });
});
