/**
 * @module views/services/detail/service-ui
 * Where a service's own web UI is, if it has one: `metadata.ui` as an address (`"ui": "http://…"`) or an object
 * with one (`"ui": { "url": "http://…" }`), resolved against the service's own URL when relative. Only http(s):
 * anything else (javascript:, data:) is not a UI the app will frame.
 */
import type { ServiceRecord } from "@kai/sdk";

export function serviceUiUrl(record: Pick<ServiceRecord, "metadata" | "url">): string | undefined {
  const ui = record.metadata.ui;
  const raw = typeof ui === "string" ? ui : ui !== null && typeof ui === "object" && typeof (ui as { url?: unknown }).url === "string" ? (ui as { url: string }).url : undefined;
  if (raw === undefined || raw.trim() === "") return undefined;
  try {
    const resolved = record.url ? new URL(raw, record.url) : new URL(raw);
    return resolved.protocol === "http:" || resolved.protocol === "https:" ? resolved.href : undefined;
  } catch {
    return undefined;
  }
}

/** The models the record itself declares (`metadata.models`: names, or objects with an `id` or `name`). */
export function declaredModels(record: Pick<ServiceRecord, "metadata">): string[] {
  const models = record.metadata.models;
  if (!Array.isArray(models)) return [];
  return models
    .map((model) => (typeof model === "string" ? model : model !== null && typeof model === "object" ? ((model as { id?: unknown; name?: unknown }).id ?? (model as { name?: unknown }).name) : undefined))
    .filter((model): model is string => typeof model === "string");
}
