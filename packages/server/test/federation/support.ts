/**
 * @module test/federation/support
 * Helpers for federation tests: servers with short sync intervals, adding peers through the API, and
 * waiting until a listing shows what a test expects (federation is asynchronous by design).
 */
import { expect } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import type { TestServer } from "../helpers/test-server.js";

/** Federation settings that make tests quick: pull every 200 ms, sweep every 100 ms. */
export const FAST_FEDERATION = { pullIntervalMs: 200, refreshIntervalMs: 5_000, recordTtlSeconds: 3600, sweepIntervalMs: 100 };

export async function addPeer(on: TestServer, peer: TestServer, extra: Record<string, unknown> = {}): Promise<Response> {
  return on.request("/api/peers", { method: "POST", json: { url: peer.url, ...extra } });
}

export async function listRemote(on: TestServer, query = ""): Promise<ServiceRecord[]> {
  const response = await on.request(`/api/services?location=remote&limit=1000${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { services: ServiceRecord[] }).services;
}

/** Polls `read` until `done` holds (or fails the test after `timeoutMs`, showing the last value). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) expect.fail(`condition not reached in ${timeoutMs} ms; last value: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  return last;
}

export const ids = (records: ServiceRecord[]) => records.map((record) => record.id).sort();
