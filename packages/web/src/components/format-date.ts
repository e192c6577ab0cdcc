/**
 * @module components/format-date
 * How the app writes a point in time, for every page: one place, so that a backup's "taken", a session's "signed in"
 * and a service's "changed" read alike (before, the pages wrote them four different ways: the browser's default
 * locale, its medium style, "en-GB", and 12- or 24-hour clocks side by side).
 *
 * The kinds of instant, each for its use:
 * - `date-time`: `8 Dec 2026, 01:03:02`, the default: anything that may be days or months away (taken, registered,
 *   last used, valid until).
 * - `time`: `01:03:02`, a time of day, for what happened in the last hours (a chart's minutes, a service's
 *   activity, "updated at", a notification); `<When>` puts the full date in its title, so a hover tells the day.
 * - `minute`: `01:03`, a chart's axis (its data are per minute; seconds there only crowd the ticks).
 * - `day`: `8 Dec 2026`, where the day is all that matters (a passkey's added and last used).
 * - `log-time`: `01:03:02.045`, the Console's lines, whose order within a second the milliseconds tell.
 *
 * One locale, British English ("en-GB") with a 24-hour clock, whatever the browser's: the app's words are English
 * only, and the browser's locale wrote "Dec 8, 2026, 12:03:02 AM" beside "08/12/2026, 00:03:02"; a month written as a
 * word is never read as the 12th of August by one reader and the 8th of December by another; a 24-hour clock is
 * what the node's logs and the CLI write; and every screenshot, test and bug report shows the same words. The time
 * zone is the reader's (the browser's): people relate to their own clock. The exact instant is kept for machines and
 * for matching the node's logs, which write UTC: in each `<time>`'s `dateTime`, and at the end of its title.
 *
 * A value that is not a time the page can read is shown as it came (never "Invalid Date", nor a time it is not); an
 * absent one is the caller's word for it, "never" unless it says otherwise (`<When never=…>`).
 */

/** A point in time as the app receives one: ISO 8601 text from the node, or milliseconds since the epoch. */
export type Instant = string | number;

export type TimeKind = "date-time" | "time" | "minute" | "day" | "log-time";

/** The one locale every page writes times in (see the header for why a fixed one). */
export const TIME_LOCALE = "en-GB";

/** What an absent time reads, unless the caller has a better word ("not yet", "no expiry"). */
export const NEVER = "never";

const DAY: Intl.DateTimeFormatOptions = { day: "numeric", month: "short", year: "numeric" };
const CLOCK: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };

const OPTIONS: Record<TimeKind | "title", Intl.DateTimeFormatOptions> = {
  "date-time": { ...DAY, ...CLOCK },
  time: CLOCK,
  minute: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  day: DAY,
  "log-time": { ...CLOCK, fractionalSecondDigits: 3 },
  // A title names the zone: a hover is where a reader checks which clock a time is on.
  title: { ...DAY, ...CLOCK, timeZoneName: "short" },
};

/**
 * Formatters made once per kind and zone: making one costs far more than using it, and the Console writes thousands
 * of lines. The default zone is resolved when the formatter is made, that is, once per page load.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: TimeKind | "title", timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${kind} ${timeZone ?? ""}`;
  let made = formatters.get(key);
  if (made === undefined) {
    made = new Intl.DateTimeFormat(TIME_LOCALE, timeZone === undefined ? OPTIONS[kind] : { ...OPTIONS[kind], timeZone });
    formatters.set(key, made);
  }
  return made;
}

/** The instant `at` names, or undefined when there is none (absent, empty) or it is not a time. */
export function readInstant(at: Instant | null | undefined): Date | undefined {
  if (at === null || at === undefined || at === "") return undefined;
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * `at` written as `kind` in the reader's zone (`timeZone` names another: the tests, which must not depend on the
 * machine's). Not a time: `at` as it came.
 */
export function formatInstant(at: Instant, kind: TimeKind = "date-time", timeZone?: string): string {
  const date = readInstant(at);
  return date === undefined ? String(at) : formatter(kind, timeZone).format(date);
}

/** A `<time>`'s title: the full date and time with its zone, then the exact instant in UTC, as the node's logs write it. */
export function instantTitle(at: Instant, timeZone?: string): string {
  const date = readInstant(at);
  return date === undefined ? String(at) : `${formatter("title", timeZone).format(date)} (${date.toISOString()})`;
}
