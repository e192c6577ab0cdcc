// The forms a credential is scrubbed in: base64 at every byte alignment inside a longer string, percent-encoding
// however written, the password of a Basic pair alone, and text that merely resembles the secret left alone.
import { describe, expect, it } from "vitest";
import { REDACTED_TEXT, SCRUB_WINDOW_CHARS, scrubCredential, scrubWindow } from "./credential-forms.js";

const SECRET = "s3cr3t value/with+odd?chars=&%~";
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** The longest run of `echoed` that survives scrubbing `text` (0 when none of 8 characters does). */
function survivingRun(text: string, echoed: string): number {
  const out = scrubCredential(text, SECRET);
  let longest = 0;
  for (let start = 0; start < echoed.length; start += 1) {
    for (let end = start + longest + 1; end <= echoed.length; end += 1) if (out.includes(echoed.slice(start, end))) longest = end - start;
  }
  return longest;
}

describe("scrubCredential", () => {
  it("scrubs the secret base64- and base64url-encoded at every byte offset inside a longer string", () => {
    for (const encode of [b64, b64url]) {
      for (const prefix of ["", "u", "us", "use", "Bearer ", "admin:"]) {
        const echoed = encode(`${prefix}${SECRET}`);
        const out = scrubCredential(`error: ${echoed} refused`, SECRET);
        expect(out, `${prefix}`).toContain(REDACTED_TEXT);
        // What is left is the prefix's own characters and at most one partial character plus padding.
        expect(survivingRun(`error: ${echoed} refused`, echoed), `${prefix}: ${out}`).toBeLessThanOrEqual(Math.ceil((prefix.length * 8) / 6) + 3);
      }
    }
  });

  it("scrubs the secret percent-encoded in either hex case, form-encoded, over-encoded and JSON-escaped", () => {
    const upper = encodeURIComponent(SECRET);
    const variants = [
      upper,
      upper.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
      new URLSearchParams({ k: SECRET }).toString().slice(2),
      [...SECRET].map((character) => `%${character.charCodeAt(0).toString(16)}`).join(""),
    ];
    for (const variant of variants) expect(scrubCredential(`x ${variant} y`, SECRET), variant).toBe(`x ${REDACTED_TEXT} y`);
    const quoted = 'pa"ss\\word';
    expect(scrubCredential(JSON.stringify({ echo: quoted }), quoted)).toBe(`{"echo":"${REDACTED_TEXT}"}`);
  });

  it("scrubs a Basic pair whole, as its token, and its password alone", () => {
    const pair = `admin:${SECRET}`;
    for (const echoed of [pair, b64(pair), encodeURIComponent(`Basic ${b64(pair)}`), SECRET, b64(SECRET)]) {
      expect(scrubCredential(`got ${echoed}`, pair), echoed).not.toContain(echoed.slice(-12));
    }
  });

  it("leaves text alone that holds no form of the secret, and scrubs a short secret only literally", () => {
    expect(scrubCredential("model not found: gpt-4o", SECRET)).toBe("model not found: gpt-4o");
    expect(scrubCredential("abc YWJj %61%62%63", "abc")).toBe(`${REDACTED_TEXT} YWJj %61%62%63`);
  });

  it("scrubs a bounded window of a long text, and no form cut in two at the window's end survives", () => {
    for (const form of [SECRET, encodeURIComponent(SECRET), b64(`u:${SECRET}`)]) {
      // Every offset of the last copy against the window's end.
      for (let pad = 0; pad < form.length; pad += 1) {
        const text = `${"x".repeat(pad)}${`${form} `.repeat(Math.ceil((3 * SCRUB_WINDOW_CHARS) / form.length))}`;
        const out = scrubWindow(text, [SECRET], (window) => scrubCredential(window, SECRET));
        expect(out.length).toBeLessThanOrEqual(SCRUB_WINDOW_CHARS + 12 * SECRET.length + 16);
        expect(out, `${form} at ${pad}`).toContain(REDACTED_TEXT);
        // Left around the replacements: at most the 3 characters base64 gives "u:" alone, never 4 of the form.
        for (let start = 0; start + 4 <= form.length; start += 1) expect(out.includes(form.slice(start, start + 4)), `${form} at ${pad}`).toBe(false);
      }
    }
  });
});
