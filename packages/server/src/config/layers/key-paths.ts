/**
 * @module config/layers/key-paths
 * Dotted setting names (`logging.level`) against nested settings objects: read, write, remove, list the leaves, and
 * compare. The layers speak in dotted keys (locks, `explain`, `PATCH /api/config`), the schema in nested objects.
 */

export type Settings = Record<string, unknown>;

/** A dotted key: names of letters, digits, `_` and `-`, separated by dots. */
export const KEY_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function isPlainObject(value: unknown): value is Settings {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Names that would reach an object's prototype: never a setting, refused wherever keys come from outside. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function splitKey(key: string): string[] {
  return key.split(".");
}

/** The value at `path` (undefined when any step is missing or not an object). */
export function getAt(settings: unknown, path: readonly string[]): unknown {
  let here: unknown = settings;
  for (const name of path) {
    // Arrays are walked by index too: a schema issue's path may point into one (`gateway.retryOn.0`).
    if (Array.isArray(here) && /^\d+$/.test(name)) {
      here = here[Number(name)];
      continue;
    }
    if (!isPlainObject(here) || !Object.hasOwn(here, name)) return undefined;
    here = here[name];
  }
  return here;
}

/** Sets `path` to `value` in place, making the objects on the way. */
export function setAt(settings: Settings, path: readonly string[], value: unknown): void {
  if (path.some((name) => FORBIDDEN_NAMES.has(name))) throw new Error(`not a setting name: ${path.join(".")}`);
  let here = settings;
  for (const name of path.slice(0, -1)) {
    const next = here[name];
    if (!isPlainObject(next)) here[name] = {};
    here = here[name] as Settings;
  }
  here[path[path.length - 1] as string] = value;
}

/** Removes `path` in place, and any object on the way that it leaves empty. */
export function unsetAt(settings: Settings, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(settings, head)) return;
  if (rest.length === 0) {
    delete settings[head];
    return;
  }
  const child = settings[head];
  if (!isPlainObject(child)) return;
  unsetAt(child, rest);
  if (Object.keys(child).length === 0) delete settings[head];
}

/** Whether one key is the other or lies under it (`rateLimit` and `rateLimit.read.max` overlap). */
export function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!sameValue(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/** The dotted keys of the leaves (scalars and arrays: arrays are replaced whole) that differ between `a` and `b`. */
export function changedKeys(a: unknown, b: unknown, path: string[] = [], out: string[] = []): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) changedKeys(a[key], b[key], [...path, key], out);
  } else if (!sameValue(a, b)) {
    out.push(path.join("."));
  }
  return out;
}

/** A deep copy of plain settings (JSON-shaped values only). */
export function cloneSettings<T>(value: T): T {
  return structuredClone(value);
}
