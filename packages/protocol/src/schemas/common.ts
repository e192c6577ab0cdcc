/**
 * @module common
 * Small shared building blocks: identifiers, durations, timestamps.
 */
import { z } from "zod";

/** Service, token and owner identifiers: printable, URL-safe, bounded. */
export const IdentifierSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, "must start with a letter or digit and use only letters, digits and . _ : @ -");

/** ISO-8601 timestamp as produced by `Date.prototype.toISOString()`. */
export const TimestampSchema = z.iso.datetime({ offset: true });

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Parses a duration such as `90s`, `30m`, `24h`, `7d`, `2w`, or a bare number of seconds.
 * Returns seconds, or `undefined` when the text is not a duration.
 */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = DURATION_UNITS[match[2] || "s"] ?? 1;
  return amount * unit;
}

/** A duration string (`24h`) or a number of seconds, normalised to seconds. */
export const DurationSchema = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const seconds = typeof value === "number" ? value : parseDurationSeconds(value);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({ code: "custom", message: "must be a duration such as 90s, 30m, 24h, 7d or a number of seconds" });
    return z.NEVER;
  }
  return seconds;
});
