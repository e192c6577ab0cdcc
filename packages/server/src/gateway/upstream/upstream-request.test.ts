// splitTarget (undici origin + path without a URL parse per request) must name exactly the URL that parsing the
// joined URL would give, for every base URL and path it accepts; anything it cannot vouch for goes the slow way.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { joinUrl, splitTarget } from "./upstream-request.js";

const bases = fc.constantFrom(
  "http://127.0.0.1:11434",
  "http://127.0.0.1:8080/",
  "https://api.openai.com/v1",
  "https://api.openai.com/v1/",
  "http://LOCALHOST:80/api",
  "https://example.com:443/a b/",
  "http://[::1]:1234/prefix//",
  "http://user:pw@host.example/v1",
  "http://host.example/v1?x=1",
  "not a url",
);
const segment = fc.stringMatching(/^[A-Za-z0-9._~%:@!$&'()*+,;= é-]{0,12}$/);
const paths = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join("/")}`);
const queries = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { nil: undefined }).map((query) => (query && Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : ""));

describe("splitTarget", () => {
  it("gives undici the same origin and path as parsing the whole URL", () => {
    fc.assert(
      fc.property(bases, fc.oneof(paths, fc.constantFrom("/v1/chat/completions", "/api/chat", "/v1/models")), queries, (base, path, query) => {
        const target = splitTarget(base, path, query);
        if (target === null) return;
        const url = new URL(joinUrl(base, path) + query);
        expect(target).toEqual({ origin: url.origin, path: url.pathname + url.search });
      }),
      { numRuns: 500 },
    );
  });

  it("takes the fast path for ordinary provider URLs and refuses what a URL parser would rewrite", () => {
    expect(splitTarget("https://api.openai.com/v1", "/v1/chat/completions", "")).toEqual({ origin: "https://api.openai.com", path: "/v1/chat/completions" });
    expect(splitTarget("http://127.0.0.1:11434/", "/api/chat", "?a=1")).toEqual({ origin: "http://127.0.0.1:11434", path: "/api/chat?a=1" });
    expect(splitTarget("http://host/v1", "/a/../b", "")).toBeNull();
    expect(splitTarget("http://host/v1", "/a b", "")).toBeNull();
    expect(splitTarget("http://user:pw@host/v1", "/x", "")).toBeNull();
    expect(splitTarget("no url", "/x", "")).toBeNull();
  });
});
