/**
 * @module logging/security-lines
 * The security log records every security event whatever `logging.level` says: the level governs how much the system
 * log (stdout, `logs/system/`, the live view) says, not which sign-ins, vault accesses or configuration changes are on
 * record — a node at `warn` would otherwise keep no vault read, and not even the `config_changed` that raised it.
 *
 * Those events are written at info (a success) or warn (a failure). A logger at `warn` drops an info line before it
 * is even built, so they go through a second logger of the same destinations whose level is always info (made here
 * for `createLogger`: logger.ts); the destinations still hold their own thresholds (the logging.level), except the
 * `logs/security/` file's, which never rises above info (log-level.ts). So at `info` or below a security line is
 * everywhere as before; above it, an info security line reaches `logs/security/` only.
 *
 * `createLogger` returns that logger as `securityLogger` beside the node's logger, and the composition root (server.ts)
 * hands it to the writers of security events in their constructors: the security log (auth/security-log.ts) and the
 * vault's audit writer (vault/vault-audit-writer.ts). Nothing looks it up: a writer given the plain logger instead
 * would be visible where it is constructed.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { FLOOR_LEVEL } from "./log-level.js";

/**
 * The security events' logger of a logger tree made with `options` that writes to `destination`: at info whatever the
 * tree's level becomes (log-level.ts does not track it, so a level change leaves it).
 */
export function createSecurityLogger(options: LoggerOptions, destination: DestinationStream): Logger {
  return pino({ ...options, level: FLOOR_LEVEL }, destination);
}
