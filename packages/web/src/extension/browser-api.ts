/**
 * @module extension/browser-api
 * The few Chrome extension APIs the extension uses, typed here (no @types/chrome in the project) and reached
 * through one object, so that the rest of the extension reads as ordinary code and a page opened outside the
 * extension (a test, a dev server) fails with a clear message instead of `chrome is not defined`.
 */

export interface StorageArea {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

interface StorageChange {
  oldValue?: unknown;
  newValue?: unknown;
}

export interface ChromeApi {
  runtime: { id: string; getURL(path: string): string; openOptionsPage(): Promise<void> };
  storage: {
    local: StorageArea;
    onChanged: {
      addListener(listener: (changes: Record<string, StorageChange>, area: string) => void): void;
      removeListener(listener: (changes: Record<string, StorageChange>, area: string) => void): void;
    };
  };
  tabs: { create(properties: { url: string }): Promise<unknown> };
  windows: { getCurrent(): Promise<{ id?: number }> };
  sidePanel?: { open(options: { windowId: number }): Promise<void> };
  permissions: {
    contains(permissions: { origins: string[] }): Promise<boolean>;
    request(permissions: { origins: string[] }): Promise<boolean>;
  };
}

/** Whether this page runs as an extension page (chrome-extension://). */
export function inExtension(): boolean {
  const api = (globalThis as { chrome?: { runtime?: { id?: string } } }).chrome;
  return typeof api?.runtime?.id === "string";
}

export function chromeApi(): ChromeApi {
  if (!inExtension()) throw new Error("This page is part of the kAI browser extension: open it from the extension.");
  return (globalThis as unknown as { chrome: ChromeApi }).chrome;
}

export type StorageChangeListener = (changes: Record<string, StorageChange>, area: string) => void;
