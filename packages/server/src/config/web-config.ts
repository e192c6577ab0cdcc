/**
 * @module config/web-config
 * The web app (issue 15): whether the node serves it at `/`, and from where. By default it serves the build of
 * the `@kai/web` package (`npm start` builds it); `root` points at another build (a customised app, a CDN
 * mirror's copy). Without a build the node still runs: `/` then leads to the API docs.
 */
import { z } from "zod";

export const WebConfigSchema = z.strictObject({
  /** Serve the web app at `/` (same origin as the API, under a strict Content Security Policy). */
  enabled: z.boolean().default(true),
  /** The folder holding the built app's `index.html` and `assets/`. Default: `@kai/web`'s `dist/`. */
  root: z.string().min(1).optional(),
});
export type WebConfig = z.output<typeof WebConfigSchema>;
