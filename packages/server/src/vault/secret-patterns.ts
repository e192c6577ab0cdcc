/**
 * @module vault/secret-patterns
 * Token limits on secret names: `*` matches within one path segment, `**` across segments
 * (`openai/*` matches `openai/prod` but not `openai/prod/old`; `services/**` matches both levels).
 * Patterns are compiled to anchored regular expressions with every other character escaped.
 */
const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (regex) return regex;
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*") {
      if (pattern[i + 1] === "*") {
        source += ".*";
        i++;
      } else {
        source += "[^/]*";
      }
    } else {
      source += char.replace(/[.\\+?^${}()|[\]-]/g, "\\$&");
    }
  }
  regex = new RegExp(`^${source}$`, "s");
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, regex);
  return regex;
}

/** True when `patterns` is undefined (no limit) or one of them matches `name`. */
export function nameAllowed(name: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined) return true;
  return patterns.some((pattern) => compile(pattern).test(name));
}
