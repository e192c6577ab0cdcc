/**
 * @module logging/log-files
 * The node's log files: `<dataDir>/logs/system/` (every line), `logs/security/` and `logs/agents/` (the lines
 * log-routing.ts sends there), JSON lines as pino wrote them, after its redaction, each folder rotated by day and
 * size with age-based retention (rotating-file.ts). `logging.file: false` writes none.
 */
import { join } from "node:path";
import type pino from "pino";
import type { Config } from "../config/config-schema.js";
import { belongsIn, LOG_FOLDERS } from "./log-routing.js";
import { RotatingFile } from "./rotating-file.js";

export interface LogFiles {
  /** One multistream entry per folder. */
  streams: pino.StreamEntry[];
  /**
   * The `security/` folder's destination (one of `streams`' entries): its threshold never rises above info, so that
   * every security event is recorded whatever `logging.level` says (security-lines.ts).
   */
  security: pino.DestinationStream;
  /** Writes what every folder still holds (at shutdown). */
  flush(): Promise<void>;
  /** The files whose last write failed (a full disk, an I/O error), by path: `kai doctor`. */
  failing(): string[];
}

export function openLogFiles(config: Config, now?: () => number): LogFiles {
  const { maxSizeMb, retentionDays } = config.logging.rotation;
  const files = LOG_FOLDERS.map((folder) => {
    const file = new RotatingFile({ dir: join(config.dataDir, "logs", folder), name: folder, maxBytes: Math.max(1024, Math.round(maxSizeMb * 1024 * 1024)), retentionDays, ...(now ? { now } : {}) });
    // `system` takes everything: no test per line.
    const stream = folder === "system" ? file : { write: (line: string) => (belongsIn(folder, line) ? file.write(line) : true) };
    return { file, stream };
  });
  return {
    streams: files.map(({ stream }) => ({ stream })),
    security: files[LOG_FOLDERS.indexOf("security")]!.stream,
    async flush() {
      await Promise.all(files.map(({ file }) => file.flush()));
    },
    failing: () => files.filter(({ file }) => file.failing).map(({ file }) => file.path),
  };
}
