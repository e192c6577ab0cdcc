// How the app writes a point in time (components/format-date, components/When): each kind of instant for one fixed
// instant in fixed time zones (the reader's zone is the machine's, so the tests name theirs), a value that is not a
// time and an absent one, the <time> element every page shows, pages that show the same instant writing it the
// same way, and no page writing times on its own (a toLocale…String or an Intl.DateTimeFormat outside the module
// would be a second way).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { render, screen, within } from "@testing-library/react";
import type { Session } from "@kai/sdk";
import { formatInstant, instantTitle, readInstant, TIME_LOCALE, type TimeKind } from "./format-date";
import { When } from "./When";
import { TlsPanel } from "../views/overview/TlsPanel";
import { LogTable } from "../views/console/LogTable";
import { SessionRows } from "../views/access/SessionsPanel";

/** 00:03:02.045 UTC on 8 December 2026: the day differs between zones (7 December in New York). */
const AT = "2026-12-08T00:03:02.045Z";

describe("format-date", () => {
  const cases: { zone: string; expected: Record<TimeKind, string> }[] = [
    { zone: "UTC", expected: { "date-time": "8 Dec 2026, 00:03:02", time: "00:03:02", minute: "00:03", day: "8 Dec 2026", "log-time": "00:03:02.045" } },
    { zone: "Europe/Paris", expected: { "date-time": "8 Dec 2026, 01:03:02", time: "01:03:02", minute: "01:03", day: "8 Dec 2026", "log-time": "01:03:02.045" } },
    // A 24-hour clock on a reader's evening of the day before, the month as a word (no 12/07 against 07/12).
    { zone: "America/New_York", expected: { "date-time": "7 Dec 2026, 19:03:02", time: "19:03:02", minute: "19:03", day: "7 Dec 2026", "log-time": "19:03:02.045" } },
    // A zone half an hour off the hour.
    { zone: "Asia/Kolkata", expected: { "date-time": "8 Dec 2026, 05:33:02", time: "05:33:02", minute: "05:33", day: "8 Dec 2026", "log-time": "05:33:02.045" } },
  ];
  for (const { zone, expected } of cases) {
    it(`writes each kind of instant in one locale, on a 24-hour clock (${zone})`, () => {
      for (const [kind, words] of Object.entries(expected) as [TimeKind, string][]) {
        expect(formatInstant(AT, kind, zone), kind).toBe(words);
        // Milliseconds since the epoch (as the browser keeps a time: a query's "updated at") read the same.
        expect(formatInstant(Date.parse(AT), kind, zone), `${kind} from milliseconds`).toBe(words);
      }
    });
  }

  it("writes a full date and time unless told otherwise, and past midnight as 00, not 24 or 12 AM", () => {
    expect(TIME_LOCALE).toBe("en-GB");
    expect(formatInstant(AT, undefined, "UTC")).toBe("8 Dec 2026, 00:03:02");
    expect(formatInstant("2026-01-31T23:59:59.999Z", "log-time", "UTC")).toBe("23:59:59.999");
    expect(formatInstant("2026-06-01T12:00:00Z", "time", "UTC")).toBe("12:00:00");
  });

  it("titles an instant with its date, time and zone, then the instant in UTC", () => {
    expect(instantTitle(AT, "UTC")).toBe("8 Dec 2026, 00:03:02 UTC (2026-12-08T00:03:02.045Z)");
    // A zone's name as the locale writes it (CET, GMT+1…), the same instant in UTC.
    expect(instantTitle(AT, "Europe/Paris")).toMatch(/^8 Dec 2026, 01:03:02 \S+ \(2026-12-08T00:03:02\.045Z\)$/);
  });

  it("shows a value that is not a time as it came, and reads an absent one as none", () => {
    for (const kind of ["date-time", "time", "minute", "day", "log-time"] as const) {
      expect(formatInstant("not a time", kind, "UTC")).toBe("not a time");
      expect(formatInstant("2026-13-45T99:00:00Z", kind, "UTC")).toBe("2026-13-45T99:00:00Z");
    }
    expect(instantTitle("not a time")).toBe("not a time");
    expect(readInstant("not a time")).toBeUndefined();
    expect(readInstant(Number.NaN)).toBeUndefined();
    expect(readInstant("")).toBeUndefined();
    expect(readInstant(null)).toBeUndefined();
    expect(readInstant(undefined)).toBeUndefined();
    expect(readInstant(AT)?.toISOString()).toBe(AT);
  });
});

describe("<When>", () => {
  it("shows an instant in a <time> with the exact instant and, on a hover, the full date", () => {
    render(
      <p>
        <When at={AT} /> <When at={AT} kind="time" /> <When at={Date.parse(AT)} kind="day" /> <When at="2026-12-08T01:03:02.045+01:00" kind="log-time" />
      </p>,
    );
    const times = [...document.querySelectorAll("time")];
    expect(times.map((time) => time.textContent)).toEqual([formatInstant(AT), formatInstant(AT, "time"), formatInstant(AT, "day"), formatInstant(AT, "log-time")]);
    for (const time of times) {
      // Whatever form the instant came in, the machine-readable one is the UTC instant.
      expect(time.getAttribute("datetime")).toBe(AT);
      expect(time.getAttribute("title")).toBe(instantTitle(AT));
      expect(time.getAttribute("title")).toContain(formatInstant(AT, "date-time"));
    }
  });

  it("says never (or the caller's word) for an absent time, and shows one it cannot read as it came, outside a <time>", () => {
    render(
      <p>
        <span data-testid="null">
          <When at={null} />
        </span>
        <span data-testid="empty">
          <When at="" never="not yet" />
        </span>
        <span data-testid="broken">
          <When at="yesterday-ish" kind="time" />
        </span>
      </p>,
    );
    expect(screen.getByTestId("null").textContent).toBe("never");
    expect(screen.getByTestId("empty").textContent).toBe("not yet");
    expect(screen.getByTestId("broken").textContent).toBe("yesterday-ish");
    expect(document.querySelector("time")).toBeNull();
  });
});

describe("pages that show a time", () => {
  it("write the same instant the same way: a certificate's expiry, a session's start, a log line", () => {
    const session: Session = {
      id: "s1",
      userId: "u1",
      username: "ada",
      method: "password",
      mfa: false,
      createdAt: AT,
      lastUsedAt: AT,
      expiresAt: AT,
      revokedAt: null,
      revokedReason: null,
      userAgent: null,
      address: "127.0.0.1",
      current: false,
    };
    render(
      <>
        <TlsPanel tls={{ certificates: [{ setting: "server.tls.certFile", subject: "CN=node", issuer: "CN=ca", notAfter: AT }], notReloaded: [] }} now={Date.parse(AT) - 86_400_000 * 30} />
        <SessionRows sessions={[session]} onRevoke={() => undefined} />
        <LogTable lines={[{ kind: "log", entry: { seq: 1, time: AT, level: "info", msg: "hello", fields: {} } }]} onRequest={() => undefined} onInstance={() => undefined} onTrace={() => undefined} />
      </>,
    );
    const full = formatInstant(AT);
    const certificates = screen.getByLabelText("TLS certificates");
    expect(certificates.querySelector("time")?.textContent).toBe(full);
    const sessions = screen.getByRole("table", { name: "Sessions" });
    expect([...sessions.querySelectorAll("time")].map((time) => time.textContent)).toEqual([full, full]);
    // The button's name, where no <time> can be, writes it the same way.
    expect(within(sessions).getByRole("button", { name: `End session from 127.0.0.1 signed in ${full}` })).toBeTruthy();
    const log = screen.getByRole("table", { name: /Log lines/ });
    const line = log.querySelector("time")!;
    expect(line.textContent).toBe(formatInstant(AT, "log-time"));
    expect(line.getAttribute("title")).toBe(instantTitle(AT));
  });

  it("leave writing times to format-date: no toLocale…String, Intl.DateTimeFormat or date style of their own", () => {
    // The folder by import.meta.dirname: under jsdom, URL is jsdom's, which node:url's fileURLToPath refuses.
    const src = join(import.meta.dirname, "..");
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sources(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : []));
    // Numbers' toLocaleString (counts with separators) is not a time: only a Date's is caught.
    const adHoc = /toLocaleTimeString|toLocaleDateString|Intl\.DateTimeFormat|dateStyle|timeStyle|hour12|Date\([^)]*\)\.toLocaleString/;
    const found = sources(src)
      .filter((file) => !file.endsWith(join("components", "format-date.ts")))
      .flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .flatMap((line, index) => (adHoc.test(line) ? [`${relative(src, file)}:${index + 1}: ${line.trim()}`] : [])),
      );
    expect(found).toEqual([]);
  });
});
