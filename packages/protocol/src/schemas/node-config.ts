/**
 * @module node-config
 * The node's effective configuration as an administrator sees it (`GET /api/config`, scope `admin`): every
 * setting after defaults, the YAML file, `KAI_*` variables and flags were merged, with secrets redacted. The web
 * app's Settings view and `kai` show it, so that "what is this node actually running with?" has one answer.
 * The shape of `config` is the server's own config schema; it is kept open here (a record) so that the protocol
 * does not repeat every setting, and clients treat it as read-only data to display.
 */
import { z } from "zod";

/** What a redacted value is replaced with. */
export const REDACTED_VALUE = "[redacted]";

export const NodeConfigResponseSchema = z.object({
  /** The effective settings, sections as in the configuration file; secrets replaced by `[redacted]`. */
  config: z.record(z.string(), z.unknown()),
  /** Dotted paths of the values that were redacted (`storage.postgres.url`), so a reader knows what is hidden. */
  redacted: z.array(z.string()),
  /** The server's version. */
  version: z.string(),
});
export type NodeConfigResponse = z.infer<typeof NodeConfigResponseSchema>;
