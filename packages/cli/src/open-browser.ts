/**
 * @module open-browser
 * Opens a URL in the person's browser, as a convenience only: the URL is always printed too, so a failure here
 * changes nothing. Tried only when the opener the platform is known to have is on the PATH (`open` on macOS,
 * `xdg-open` on Linux and BSD with a display, `rundll32` on Windows), never through a shell (the URL is one argv
 * element), detached so that the browser outlives nothing and the CLI never waits for it.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The opener command and its arguments before the URL, or undefined when this platform has none we know. */
export function openerFor(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): { command: string; args: string[] } | undefined {
  if (platform === "darwin") return { command: "open", args: [] };
  // FileProtocolHandler hands the URL to the default browser without cmd.exe's parsing of & and ^.
  if (platform === "win32") return { command: "rundll32", args: ["url.dll,FileProtocolHandler"] };
  // Without a display (ssh, a container) xdg-open would start a text browser in this terminal or fail.
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return { command: "xdg-open", args: [] };
  return undefined;
}

/** Whether `command` is an executable file in one of the PATH's directories. */
export function onPath(command: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  const extensions = platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const extension of extensions) {
      try {
        accessSync(join(dir, command + extension), constants.X_OK);
        return true;
      } catch {
        // Not here; the next directory.
      }
    }
  }
  return false;
}

/** Tries to open `url`; true when an opener was started (not a promise that a browser showed it). */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const opener = openerFor(platform, env);
  if (opener === undefined || !onPath(opener.command, env, platform)) return false;
  try {
    const child = spawn(opener.command, [...opener.args, url], { env, detached: true, stdio: "ignore", windowsHide: true });
    child.on("error", () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
