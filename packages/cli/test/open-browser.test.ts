/**
 * `kai login --sso` opens a browser only where a known opener exists, and never fails because of it: the opener
 * per platform (none on a Linux without a display, e.g. over ssh), and the PATH lookup that decides whether to try.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { onPath, openBrowser, openerFor } from "../src/open-browser.js";

const dir = mkdtempSync(join(tmpdir(), "kai-opener-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("opening a browser", () => {
  it("knows the opener of each platform, and none on Linux without a display", () => {
    expect(openerFor("darwin", {})?.command).toBe("open");
    expect(openerFor("win32", {})).toEqual({ command: "rundll32", args: ["url.dll,FileProtocolHandler"] });
    expect(openerFor("linux", { DISPLAY: ":0" })?.command).toBe("xdg-open");
    expect(openerFor("linux", { WAYLAND_DISPLAY: "wayland-0" })?.command).toBe("xdg-open");
    expect(openerFor("linux", {})).toBeUndefined();
  });

  it("looks for the opener on the PATH: executables only", () => {
    writeFileSync(join(dir, "xdg-open"), "#!/bin/sh\nexit 0\n");
    writeFileSync(join(dir, "not-executable"), "");
    chmodSync(join(dir, "xdg-open"), 0o755);
    chmodSync(join(dir, "not-executable"), 0o644);
    expect(onPath("xdg-open", { PATH: dir }, "linux")).toBe(true);
    expect(onPath("not-executable", { PATH: dir }, "linux")).toBe(false);
    expect(onPath("xdg-open", { PATH: "" }, "linux")).toBe(false);
  });

  it("does not try without an opener, and starts one that exists", () => {
    expect(openBrowser("http://127.0.0.1:1/", { PATH: dir }, "linux")).toBe(false);
    expect(openBrowser("http://127.0.0.1:1/", { PATH: join(dir, "missing"), DISPLAY: ":0" }, "linux")).toBe(false);
    expect(openBrowser("http://127.0.0.1:1/", { PATH: dir, DISPLAY: ":0" }, "linux")).toBe(true);
  });
});
