/**
 * @module config/layers/config-error
 * The error of a configuration that cannot be used: a file that cannot be read or parsed, a value the schema refuses,
 * a missing `@env:` variable, a write to a locked key. The message names the layer, its file and the key, so the
 * operator knows which of several files to open; `problems` carries the same per key for the API's `details`.
 */

/** One thing wrong with one key of one layer. */
export interface ConfigProblem {
  /** The layer it was found in (`system`, `user`, `runtime`, …). */
  layer: string;
  /** Where that layer came from: a file path, `KAI_* environment`, `command line`, `API`. */
  source: string;
  /** Dotted key (`logging.level`); empty for the whole layer. */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";

  constructor(
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
  ) {
    super(message);
  }
}
