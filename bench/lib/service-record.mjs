/**
 * @module bench/lib/service-record
 * The realistic service record both sides write: our registration body and etcd's value are the same
 * 600-byte JSON document (capabilities, tags, endpoints, metadata, ttl 30), so both do the same work
 * per write. Capabilities and tags come from a seeded generator so that discovery filters select a
 * known share of the 100k services on every run.
 */
import { randomUUID } from "node:crypto";

export const RECORD_BYTES = 600;
export const CAPABILITIES = [
  "llm_chat", "llm_completion", "embeddings", "image_generation", "image_analysis",
  "audio_transcription", "audio_generation", "vector_storage", "code_execution", "workflow_orchestration",
];
export const REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"];
const PROVIDERS = ["openai", "ollama", "anthropic", "qdrant", "mistral", "custom"];
const TIERS = ["gold", "silver", "bronze"];

/** The discovery query: about 1/5 of services carry `embeddings` and 1/5 `region=eu-west`. */
export const DISCOVERY_FILTER = { capability: "embeddings", tag: "region=eu-west" };
/** Capability only the fan-out services carry, so a subscriber's first snapshot stays small. */
export const WATCH_CAPABILITY = "bench_fanout";

/** mulberry32: a tiny seeded PRNG; Math.random would make the filter's selectivity vary per run. */
function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Capabilities and tags of service number `index` (stable across runs). */
export function traitsOf(index) {
  const random = prng(index * 2654435761);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const first = pick(CAPABILITIES);
  let second = pick(CAPABILITIES);
  if (second === first) second = CAPABILITIES[(CAPABILITIES.indexOf(first) + 1) % CAPABILITIES.length];
  return {
    capabilities: [first, second],
    provider: pick(PROVIDERS),
    tags: [`region=${pick(REGIONS)}`, `tier=${pick(TIERS)}`, "bench"],
  };
}

/** True when service number `index` matches DISCOVERY_FILTER. */
export function matchesDiscovery(index) {
  const traits = traitsOf(index);
  return traits.capabilities.includes(DISCOVERY_FILTER.capability) && traits.tags.includes(DISCOVERY_FILTER.tag);
}

/**
 * A registration body of exactly RECORD_BYTES bytes.
 * @param {object} [options]
 * @param {string} [options.id] defaults to a fresh `svc-<uuid>` (always the same length)
 * @param {number} [options.index] picks capabilities and tags with `traitsOf`
 * @param {number|undefined} [options.ttl] seconds (default 30); `ttl: undefined` given explicitly registers a
 *   service without a lease, which never expires
 * @param {string[]} [options.extraCapabilities]
 */
export function serviceRecordJson(options = {}) {
  const { id = `svc-${randomUUID()}`, index = 0, extraCapabilities = [] } = options;
  // Not a default parameter: JavaScript applies a default to an explicit `undefined` too, so `{ ttl: undefined }`
  // used to register services with ttl 30 that expired during the discovery and fan-out phases (fixed for issue 13).
  const ttl = "ttl" in options ? options.ttl : 30;
  const traits = traitsOf(index);
  const record = {
    id,
    name: `bench ${traits.provider} ${index}`,
    description: "",
    type: "service",
    provider: traits.provider,
    capabilities: [...traits.capabilities, ...extraCapabilities],
    tags: traits.tags,
    url: "http://10.20.30.40:11434",
    protocol: "http",
    endpoints: [
      { path: "/v1/chat/completions", method: "POST", capability: traits.capabilities[0] },
      { path: "/v1/embeddings", method: "POST" },
    ],
    version: "1.4.2",
    visibility: "public",
    metadata: { models: ["llama3.1:8b", "nomic-embed-text"], zone: "rack-7", weight: 100 },
    ...(ttl === undefined ? {} : { ttl }),
  };
  const unpadded = JSON.stringify(record).length;
  // Pad with the description, so the record stays a valid registration of exactly RECORD_BYTES.
  record.description = "x".repeat(Math.max(0, RECORD_BYTES - unpadded));
  return JSON.stringify(record);
}
