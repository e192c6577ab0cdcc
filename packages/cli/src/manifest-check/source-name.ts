/**
 * @module manifest-check/source-name
 * The name `kai services apply` tags services with (`metadata.appliedFrom`) and `--prune` matches: `--name` when
 * given, else the manifest file's name. A manifest read from stdin (`-f -`) or from a descriptor (`-f <(generate)`
 * is `/dev/fd/63`) has no name of its own: the descriptor's number would change from one run to the next and
 * `--prune` would find nothing (or the wrong services), so such a source needs `--name`.
 */
import { basename, dirname } from "node:path";
import { usageError } from "../cli-error.js";

/** Longest `--name` taken: a file name's usual limit. */
const MAX_NAME_LENGTH = 255;

/** Paths that name a descriptor or stdin rather than a file: `/dev/fd/N`, `/proc/<pid>/fd/N`, `/dev/stdin`. */
function namesADescriptor(file: string): boolean {
  if (file === "-" || file === "/dev/stdin") return true;
  const folder = dirname(file);
  return folder === "/dev/fd" || /^\/proc\/(self|\d+)\/fd$/.test(folder);
}

export function manifestSourceName(file: string, given: string | undefined): string {
  if (given !== undefined) {
    const name = given.trim();
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (name === "" || name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
      throw usageError(`--name must be 1 to ${MAX_NAME_LENGTH} printable characters, not "${given}"`);
    }
    return name;
  }
  if (namesADescriptor(file)) {
    throw usageError(`${file === "-" ? "stdin" : file} has no file name to tag the services with (metadata.appliedFrom, matched by --prune): give one with --name <name>`);
  }
  return basename(file);
}
