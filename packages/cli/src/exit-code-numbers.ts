/**
 * @module exit-code-numbers
 * The exit codes scripts can rely on, and their help text. Apart from exit-codes.ts (which maps API error codes onto
 * them through the protocol's error table, and so loads `@kai/protocol`) because every `kai` start reads these,
 * `--version` and `--help` included. Changing a number here is a breaking change for every script that calls `kai`.
 */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notFound: 3,
  unauthorized: 4,
  conflict: 5,
  validation: 6,
  unreachable: 7,
  rateLimited: 8,
  attention: 9,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Shown at the end of `kai --help`, and documented in docs/cli.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  usage error (bad flags, unreadable or malformed file)
  3  not found
  4  unauthorized or forbidden (wrong password or code, missing, bad, expired or revoked token or
     session, missing scope, disabled account)
  5  conflict (e.g. the service id belongs to another owner)
  6  validation failed (the server, or the local schema check, refused the input)
  7  server unreachable or unavailable
  8  rate limited or sign-in throttled (retry after the time the server names)
  9  needs attention: kai doctor found a failing check (with --strict, a warning too)`;
