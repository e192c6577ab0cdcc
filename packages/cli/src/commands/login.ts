/**
 * @module commands/login
 * `kai login`: signs a person in with username and password (and their second factor, and a new password when
 * the server demands one) and keeps the session in the login file, 0600, for later commands, which renew it
 * themselves. On a terminal it asks for what it needs, the password without echo; scripts give the username as a
 * flag and the password on stdin (`--password-stdin`), never on argv, where other users of the machine can read it.
 * `kai login --with-token` (or `--token-file`, or a token piped without `--username`) stores an API token instead,
 * as before sign-in existed. `kai login --sso [provider]` signs in through the browser instead (sso-sign-in.ts).
 */
import { Command } from "commander";
import { createClient } from "@kai/sdk";
import { addGlobalOptions, contextOf, integerOption } from "../command-kit.js";
import { checkUrl, DEFAULT_URL } from "../connection.js";
import { CliError, usageError } from "../cli-error.js";
import { EXIT } from "../exit-codes.js";
import { readStdin, readText } from "../input-file.js";
import type { Output } from "../output.js";
import { newPasswordProblem, passwordSignIn, secondFactorFrom, type Answers } from "../password-sign-in.js";
import { promptHidden, promptLine, readStdinLines } from "../secret-input.js";
import { keepSession, signInClient } from "../sign-in-session.js";
import { ssoSignIn } from "../sso-sign-in.js";
import { storedLoginPath, writeStoredLogin } from "../stored-login.js";

interface LoginFlags {
  username?: string;
  passwordStdin?: boolean;
  code?: string;
  withToken?: boolean;
  tokenFile?: string;
  /** `--sso` alone: true; `--sso <provider>`: the provider's id. */
  sso?: string | true;
  /** `--no-browser` makes this false. */
  browser: boolean;
  timeout?: number;
}

/** How long `--sso` waits for the browser by default: time to type a password and approve a second factor. */
const SSO_TIMEOUT_SECONDS = 300;

async function readToken(flags: { token?: string; tokenFile?: string }, prompt: (text: string) => void): Promise<string> {
  if (flags.token && flags.tokenFile) throw usageError("give --token or --token-file, not both");
  let token = flags.token;
  if (token === undefined && flags.tokenFile !== undefined) token = await readText(flags.tokenFile);
  if (token === undefined) {
    if (process.stdin.isTTY) prompt("paste the token, then press Enter and Ctrl-D:");
    token = await readStdin();
  }
  token = token.trim();
  if (!token) throw usageError("the token is empty");
  return token;
}

/** The API-token login: checks the token against the server, then stores it. */
async function tokenLogin(out: Output, url: string, flags: { token?: string; tokenFile?: string }): Promise<void> {
  const token = await readToken(flags, out.info);
  // Verify before storing: a typo should fail now, not on the next command.
  const status = await createClient({ url, token }).status();
  const path = storedLoginPath();
  writeStoredLogin({ url, token }, path);
  if (out.json) out.document({ url, owner: status.caller.owner, scopes: status.caller.scopes, path });
  else out.info(`logged in to ${url} as ${status.caller.owner} (${status.caller.scopes.join(", ")}); saved to ${path}`);
}

/** A new password typed twice on the terminal; a refused or mistyped one is asked again (three tries). */
async function askNewPassword(out: Output): Promise<string> {
  out.info("you must choose a new password (at least 12 characters)");
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const password = await promptHidden("new password: ");
    const problem = newPasswordProblem(password);
    if (problem !== undefined) {
      out.warn(`new password: ${problem}`);
      continue;
    }
    if (password === (await promptHidden("new password (again): "))) return password;
    out.warn("the two passwords differ");
  }
  throw usageError("no new password chosen");
}

/** The answers of a person at a terminal. */
function terminalAnswers(out: Output, flags: LoginFlags): Answers {
  return {
    secondFactor: async () => {
      if (flags.code !== undefined) return { code: flags.code };
      const typed = await promptLine("code from your authenticator app (or a recovery code): ");
      return typed === "" ? undefined : secondFactorFrom(typed);
    },
    newPassword: () => askNewPassword(out),
  };
}

/** The answers of a script: the code from `--code`, a new password from the second line of stdin. */
function scriptAnswers(flags: LoginFlags, newPassword: string | undefined): Answers {
  return {
    secondFactor: () => {
      if (flags.code === undefined) throw new CliError("a second factor is required: pass --code <6 digits>", "mfa_required", EXIT.unauthorized);
      return Promise.resolve({ code: flags.code });
    },
    newPassword: () => {
      if (newPassword === undefined) {
        throw new CliError("a new password must be chosen: put it on the second line of stdin", "password_change_required", EXIT.unauthorized);
      }
      const problem = newPasswordProblem(newPassword);
      if (problem !== undefined) throw usageError(`new password: ${problem}`);
      return Promise.resolve(newPassword);
    },
  };
}

async function passwordLogin(out: Output, url: string, flags: LoginFlags): Promise<void> {
  if (flags.code !== undefined && !/^\d{6}$/.test(flags.code)) throw usageError("--code: must be 6 digits");
  const interactive = process.stdin.isTTY && !flags.passwordStdin;
  if (!interactive && !flags.passwordStdin) throw usageError("not a terminal: pass --username and the password on stdin with --password-stdin");
  const username = flags.username ?? (interactive ? await promptLine("username: ") : undefined);
  if (!username) throw usageError("no username given (--username)");

  let password: string;
  let answers: Answers;
  if (flags.passwordStdin) {
    const [first, second] = await readStdinLines();
    password = first ?? "";
    answers = scriptAnswers(flags, second);
  } else {
    password = await promptHidden("password: ");
    answers = terminalAnswers(out, flags);
  }
  if (password === "") throw usageError("no password given");

  const { client, tokens } = signInClient(url);
  const response = await passwordSignIn(client, { username, password }, answers);
  await keepSession(out, url, response, tokens());
}

export function loginCommand(): Command {
  const command = new Command("login")
    .description("sign in with username and password (asked for, or --password-stdin), or with --sso in a browser, and keep the session (mode 0600) for later commands")
    .option("--username <name>", "who signs in (asked for on a terminal)")
    .option("--password-stdin", "read the password from stdin (a second line: the new password, when one must be chosen)")
    .option("--code <code>", "the 6-digit code of your authenticator app, when a second factor is enrolled (asked for on a terminal)")
    .option("--with-token", "store an API token read from stdin instead of signing in")
    .option("--token-file <file>", "store an API token read from this file instead of signing in")
    .option("--sso [provider]", "sign in with single sign-on in a browser (the provider's id; optional when the server offers one)")
    .option("--no-browser", "with --sso: only print the address to open, never start a browser")
    .option("--timeout <seconds>", `with --sso: how long to wait for the browser (default ${SSO_TIMEOUT_SECONDS})`, integerOption(1, 3600));
  addGlobalOptions(command);
  return command.action(async (flags: LoginFlags, self: Command) => {
    const { out, flags: global } = contextOf(self);
    const url = global.url || process.env.KAI_URL || DEFAULT_URL;
    checkUrl(url);
    const passwordWanted = flags.username !== undefined || flags.passwordStdin === true || flags.code !== undefined;
    const tokenWanted = global.token !== undefined || flags.tokenFile !== undefined || flags.withToken === true;
    if (passwordWanted && tokenWanted) throw usageError("sign in with a password or store a token, not both");
    if (flags.sso !== undefined) {
      if (passwordWanted || tokenWanted) throw usageError("--sso signs in through the browser: give no --username, --password-stdin, --code or token");
      await ssoSignIn(out, url, { provider: flags.sso === true ? undefined : flags.sso, browser: flags.browser, timeoutMs: (flags.timeout ?? SSO_TIMEOUT_SECONDS) * 1000 });
      return;
    }
    if (flags.timeout !== undefined || !flags.browser) throw usageError("--timeout and --no-browser go with --sso");
    // Without any flag, a piped stdin is a token, as before sign-in existed; a terminal signs in.
    if (tokenWanted || (!passwordWanted && !process.stdin.isTTY)) {
      await tokenLogin(out, url, { ...(global.token ? { token: global.token } : {}), ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}) });
      return;
    }
    await passwordLogin(out, url, flags);
  });
}
