/**
 * @module sso-sign-in
 * `kai login --sso [provider]`: single sign-on from a terminal (RFC 8252, the server's token mode). The CLI
 * listens on a loopback port, makes a secret verifier and its challenge, and prints the server's start URL (and
 * opens it in a browser when it can); the person signs in at the provider; the server sends the browser to the
 * loopback address with a one-time code, which the CLI trades, with the verifier, for a session kept exactly as a
 * password sign-in's (sign-in-session.ts). The code and the tokens are never printed.
 */
import { createSsoVerifier, KaiApiError, type KaiClient } from "@kai/sdk";
import type { SsoProviderInfo } from "@kai/protocol";
import { CliError, usageError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import { openBrowser } from "./open-browser.js";
import type { Output } from "./output.js";
import { keepSession, signInClient } from "./sign-in-session.js";
import { LoopbackTimeout, startLoopback } from "./sso-loopback.js";

export interface SsoSignInOptions {
  /** The provider's id; undefined: the only one the server offers. */
  provider: string | undefined;
  /** Whether to try opening a browser (still only on a terminal with a known opener). */
  browser: boolean;
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
}

const listing = (providers: SsoProviderInfo[]) => providers.map((provider) => `  ${provider.id}  (${provider.displayName})`).join("\n");

/** The provider to use: the one named (it must exist), or the only one there is. */
async function chooseProvider(client: KaiClient, url: string, wanted: string | undefined): Promise<SsoProviderInfo> {
  const providers = await client.auth.ssoProviders();
  if (providers.length === 0) throw new CliError(`${url} offers no single sign-on (auth.sso.providers is empty)`, "not_found", EXIT.notFound);
  if (wanted === undefined) {
    const [only] = providers;
    if (providers.length === 1 && only !== undefined) return only;
    throw usageError(`${url} offers several single sign-on providers; choose one with --sso <id>:\n${listing(providers)}`);
  }
  const found = providers.find((provider) => provider.id === wanted);
  if (found === undefined) throw new CliError(`${url} has no single sign-on provider "${wanted}"; it offers:\n${listing(providers)}`, "not_found", EXIT.notFound);
  return found;
}

export async function ssoSignIn(out: Output, url: string, options: SsoSignInOptions): Promise<void> {
  const { client, tokens } = signInClient(url);
  const provider = await chooseProvider(client, url, options.provider);
  const { verifier, challenge } = await createSsoVerifier();
  const loopback = await startLoopback(options.timeoutMs);
  try {
    const startUrl = client.auth.ssoStartUrl(provider.id, { redirect: loopback.redirect, challenge });
    // The person must see this even with --quiet: without it the sign-in cannot go on.
    out.notice(`to sign in with ${provider.displayName}, open this address in a browser on this machine:\n\n  ${startUrl}\n`);
    const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
    if (options.browser && interactive && openBrowser(startUrl)) out.info("(a browser was opened; waiting for the sign-in to finish)");
    else out.info(`waiting up to ${Math.round(options.timeoutMs / 1000)} s for the sign-in to finish`);

    let arrived;
    try {
      arrived = await loopback.arrival;
    } catch (error) {
      if (error instanceof LoopbackTimeout) throw new CliError(`single sign-on did not finish: ${error.message}; run kai login --sso again`, "sso_failed", EXIT.unauthorized);
      throw error;
    }
    if ("error" in arrived) {
      await loopback.finish({ ok: false, text: `Signing in to kai failed (${arrived.error}). See the terminal; you can close this tab.` });
      const reason = arrived.error === "access_denied" ? "the sign-in was cancelled or refused" : `the sign-in answered ${arrived.error}${arrived.description ? `: ${arrived.description}` : ""}`;
      throw new CliError(`single sign-on with ${provider.displayName} failed: ${reason}`, "sso_failed", EXIT.unauthorized);
    }

    let response;
    try {
      response = await client.auth.ssoExchange({ code: arrived.code, verifier });
    } catch (error) {
      const why = error instanceof KaiApiError ? ` (${error.code})` : "";
      await loopback.finish({ ok: false, text: `Signing in to kai failed${why}. See the terminal; you can close this tab.` });
      throw error;
    }
    await loopback.finish({ ok: true, text: `Signed in to kai as ${response.user.username}. You can close this tab and return to the terminal.` });
    await keepSession(out, url, response, tokens());
  } finally {
    await loopback.close();
  }
}
