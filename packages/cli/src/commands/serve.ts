/**
 * @module commands/serve
 * `kai serve`: runs the registry server in this process until SIGINT/SIGTERM. The server package is
 * imported only here, lazily, so the other commands never load SQLite or the HTTP stack.
 */
import { join, resolve } from "node:path";
import { Command } from "commander";
import { integerOption } from "../command-options.js";
import { CliError, configUsageError, databaseInUseError } from "../cli-error.js";
import { EXIT } from "../exit-code-numbers.js";

interface ServeFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  quiet?: boolean;
}

/**
 * What stops a start without being a fault of the node, said as what to do: its database held by another node (exit 5,
 * storage/sqlite/database-claim.ts), its port taken by another process (5), an address this machine does not have or
 * a port it may not open (2). Otherwise `undefined`: Node's own words ("listen EADDRINUSE") with the code `internal`.
 */
function startRefusal(error: unknown): CliError | undefined {
  const inUse = databaseInUseError(error);
  if (inUse || !(error instanceof Error)) return inUse;
  const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = `${address ?? "this address"}${port !== undefined ? `:${port}` : ""}`;
  switch (code) {
    case "EADDRINUSE":
      return new CliError(`${where} is in use by another process: stop it, or choose another port (--port, KAI_PORT; 0 picks a free one)`, "conflict", EXIT.conflict);
    case "EADDRNOTAVAIL":
      return new CliError(`${where}: no network interface of this machine has that address; choose another --host (KAI_HOST), or 0.0.0.0 for all`, "usage", EXIT.usage);
    case "EACCES":
      return new CliError(`${where}: this user may not listen on that port (below 1024 needs privileges); choose another --port (KAI_PORT)`, "usage", EXIT.usage);
    default:
      return undefined;
  }
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the registry server (logs as JSON lines on stdout and in <data-dir>/logs/)")
    .option("--port <port>", "port to listen on (env KAI_PORT, default 7070; 0 picks a free one)", integerOption(0, 65535))
    .option("--host <host>", "address to bind (env KAI_HOST, default 127.0.0.1)")
    .option("--data-dir <dir>", "where the database, node key and admin token live (env KAI_DATA_DIR, default ./data)")
    .option("--config <file>", "YAML config file for everything else (env KAI_CONFIG)")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM, with its chain); read again when it changes (env KAI_TLS_CERT_FILE)")
    .option("--tls-key <file>", "the certificate's private key (PEM) (env KAI_TLS_KEY_FILE)")
    .option("-q, --quiet", "no log lines on stdout (the log file is still written)")
    .action(async (flags: ServeFlags) => {
      // Loaded here, not at the top: `kai serve --help` (and every other command) need neither.
      const [{ startServer, VAULT_KEY_FILE }, { cliInvocation, connectionPrefix }, { clientCertificateHint }, { clientEndpoint, tlsAdvice }] = await Promise.all([
        import("@kai/server"),
        import("../invocation.js"),
        import("../certificate-trust.js"),
        import("../serve-banner.js"),
      ]);
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        // Only what was given as a flag: the server applies KAI_* and the config file for the rest.
        server = await startServer({
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          ...(flags.host !== undefined ? { host: flags.host } : {}),
          ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
          ...(flags.config !== undefined ? { configFile: flags.config } : {}),
          ...(flags.quiet ? { quiet: true } : {}),
          ...(flags.tlsCert !== undefined || flags.tlsKey !== undefined
            ? {
                config: {
                  server: {
                    tls: {
                      ...(flags.tlsCert !== undefined ? { certFile: resolve(flags.tlsCert) } : {}),
                      ...(flags.tlsKey !== undefined ? { keyFile: resolve(flags.tlsKey) } : {}),
                    },
                  },
                },
              }
            : {}),
        });
      } catch (error) {
        // A bad config file or setting is the user's to fix (exit 2), like a bad flag.
        throw configUsageError(error) ?? startRefusal(error) ?? error;
      }
      const tls = server.config.server.tls;
      // No token: the vault is locked (the node key is sealed in it, so none could be minted), e.g. after a restore
      // started without the vault's passphrase. The token file's path and a `try:` command would point at a token that
      // is not there, or at a stale one of the node a restore replaced.
      const locked = server.adminToken === "";
      const keyFile = join(resolve(server.config.vault.keyDir ?? server.config.dataDir), VAULT_KEY_FILE);
      const advice = tls.certFile !== undefined ? tlsAdvice(tls.certFile, tls.caFile) : undefined;
      const caFile = advice?.caFile;
      // Bound to every interface (0.0.0.0, ::): the URLs name an address clients connect to, one the certificate covers.
      const { url, bound } = clientEndpoint(server.url, tls.certFile);
      process.stderr.write(
        [
          `kai server listening on ${url}${bound !== undefined ? ` (bound to ${bound}: every interface)` : ""}`,
          // The web app signs in with the first admin's password too (or any user's).
          ...(server.webApp ? [`  web app:     ${url}/`] : []),
          `  API docs:    ${url}/docs`,
          ...(locked
            ? [
                "  admin token: none: the vault is locked (the node key is sealed in it), so no token could be minted",
                `  unlock:      restart with the vault's passphrase in KAI_VAULT_PASSPHRASE (a vault on the key file: with its vault.key in ${keyFile}), or kai vault unlock with a token of this node minted earlier`,
              ]
            : [`  admin token: ${server.adminTokenPath}${server.adminTokenCreated ? " (new)" : ""}`]),
          // Until someone signs in with it, the first admin's one-time password waits in a 0600 file (issue 14).
          ...(server.firstAdminPasswordPath
            ? [`  first admin: user ${server.config.auth.signIn.firstAdmin.username}, one-time password in ${server.firstAdminPasswordPath} (kai login; choose a new password at once)`]
            : []),
          ...(advice?.lines ?? []),
          ...clientCertificateHint(tls.clientCertificates, tls.caFile),
          // A command that works as printed from here: `kai` alone is on no PATH after a fresh clone (nor, on a
          // certificate from a private CA, without that CA: a placeholder for its file when this node has none).
          ...(locked ? [] : [`  try:         ${connectionPrefix({ url, adminTokenPath: server.adminTokenPath, ...(caFile !== undefined ? { caFile } : {}) })}${cliInvocation()} status`]),
          "",
        ].join("\n"),
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            process.stderr.write(`${signal} again: exiting without waiting\n`);
            process.exit(EXIT.unexpected);
          }
          stopping = true;
          process.stderr.write(`${signal}: finishing in-flight requests and closing the database…\n`);
          server.close().then(
            () => {
              process.stderr.write("stopped cleanly\n");
              resolve();
            },
            (error: unknown) => {
              process.stderr.write(`error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
              process.exit(EXIT.unexpected);
            },
          );
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
    });
}
