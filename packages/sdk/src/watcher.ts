/**
 * @module watcher
 * `client.watch()` and `client.registryStream()`: live, filtered views of the registry over `/ws/registry` that
 * survive disconnects (registry-stream.ts). A `watch()` has a connection of its own, closed with it; a registry
 * stream carries many watchers on one connection.
 */
import { SharedRegistryStream, type StreamContext } from "./registry-stream.js";
import type { RegistryStream, RegistryStreamOptions, WatchOptions, Watcher } from "./types.js";

/** What a stream needs of the client: where, with which token, and how to tell a bad token from a dead server. */
export type WatcherContext = Omit<StreamContext, "options">;

export function createWatcher(context: WatcherContext, options: WatchOptions): Watcher {
  const { reconnect, pingIntervalMs } = options;
  const stream = new SharedRegistryStream(
    { ...context, options: { ...(reconnect !== undefined ? { reconnect } : {}), ...(pingIntervalMs !== undefined ? { pingIntervalMs } : {}) } },
    true,
  );
  return stream.watch(options);
}

export function createRegistryStream(context: WatcherContext, options: RegistryStreamOptions = {}): RegistryStream {
  return new SharedRegistryStream({ ...context, options });
}
