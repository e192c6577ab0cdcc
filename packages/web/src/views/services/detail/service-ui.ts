/**
 * @module views/services/detail/service-ui
 * Where a service's own web UI is, if it has one: `metadata.ui` as an address (`"ui": "http://…"`) or an object
 * with one (`"ui": { "url": "http://…" }`), resolved against the service's own URL when relative. Only http(s):
 * anything else (javascript:, data:) is not a UI the app will frame.
 */
import { declaredModelNames } from "@kai/protocol";
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

/** The models the record itself declares: the protocol's reading of `metadata.models`, the one the gateway routes by. */
export function declaredModels(record: Pick<ServiceRecord, "metadata">): string[] {
  return declaredModelNames(record.metadata);
}
