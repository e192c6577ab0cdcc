/**
 * Semantic memory over a real node's HTTP API, as the end-to-end tests of each index backend use it: the embedding
 * fake registered as the node's `embeddings` service, and a memory added or searched as a token's owner, each
 * answer checked against the protocol's schema.
 */
import { expect } from "vitest";
import { AddMemoryResponseSchema, SearchMemoryResponseSchema, type Memory } from "@kai/protocol";
import { registration, type TestServer } from "../helpers/test-server.js";
import { EMBED_MODEL } from "./embedding-fake.js";

/** Registers the embedding fake at `url` as the service the node embeds through (as the node's admin). */
export async function registerEmbedder(server: TestServer, url: string): Promise<void> {
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url, metadata: { models: [EMBED_MODEL] } }),
  });
  expect(registered.status, await registered.text()).toBe(201);
}

/** Adds a memory (201 expected) and returns it. */
export async function addMemory(server: TestServer, token: string, body: Record<string, unknown>): Promise<Memory> {
  const response = await server.request("/api/memory", { method: "POST", token, json: body });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return AddMemoryResponseSchema.parse(JSON.parse(text)).memory;
}

/** The texts a search (`query`: the query string of GET /api/memory/search) finds, best first. */
export async function searchTexts(server: TestServer, token: string, query: string): Promise<string[]> {
  const response = await server.request(`/api/memory/search?${query}`, { token });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return SearchMemoryResponseSchema.parse(JSON.parse(text)).results.map((result) => result.memory.text);
}
