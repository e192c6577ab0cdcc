/**
 * @module memory/gateway-embedder
 * Embeds texts through this node's own gateway (`embeddings` operation, any connected provider), as the caller:
 * the caller's token decides which embedding services may be used, exactly as `POST /v1/embeddings` would, and the
 * gateway's errors (no service offers embeddings, the model is unknown, the upstream failed) reach the caller as
 * they are. The model is `memory.model` when configured (recommended: one model keeps one vector space), else the
 * first embedding model the caller may use.
 */
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { GatewayPort } from "../http/front-doors/gateway-port.js";

export interface Embedding {
  /** The model asked for (`<serviceId>/<model>` or a plain name): the key of the vector space. */
  model: string;
  vectors: number[][];
}

export interface Embedder {
  /** `model`: this model rather than the configured or chosen one (re-embedding, reembed-job.ts). */
  embed(principal: Principal, texts: readonly string[], signal?: AbortSignal, model?: string): Promise<Embedding>;
}

/** OpenAI's base64 embedding: little-endian float32 bytes. */
function decodeVector(embedding: number[] | string): number[] {
  if (Array.isArray(embedding)) return embedding;
  const bytes = Buffer.from(embedding, "base64");
  const values: number[] = [];
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4) values.push(bytes.readFloatLE(offset));
  return values;
}

export class GatewayEmbedder implements Embedder {
  constructor(
    private readonly gateway: Pick<GatewayPort, "route" | "models">,
    private readonly model: string | undefined,
  ) {}

  async embed(principal: Principal, texts: readonly string[], signal?: AbortSignal, asked?: string): Promise<Embedding> {
    const model = asked ?? this.model ?? (await this.chooseModel(principal));
    const result = await this.gateway.route("embeddings", { model, input: [...texts], encoding_format: "float" }, { principal, ...(signal ? { signal } : {}) });
    const data = [...result.data.data].sort((a, b) => a.index - b.index);
    if (data.length !== texts.length) throw new ApiError("upstream_invalid_response", `the embedding service answered ${data.length} vectors for ${texts.length} texts`);
    const vectors = data.map((entry) => decodeVector(entry.embedding));
    const dimensions = vectors[0]?.length ?? 0;
    if (dimensions === 0 || vectors.some((vector) => vector.length !== dimensions || vector.some((value) => !Number.isFinite(value)))) {
      throw new ApiError("upstream_invalid_response", "the embedding service answered empty, uneven or non-finite vectors");
    }
    return { model, vectors };
  }

  /** The first embedding model the caller may use: a plain name (fails over between services) before a pinned one. */
  private async chooseModel(principal: Principal): Promise<string> {
    const ids = (await this.gateway.models(principal, "embeddings")).map((entry) => entry.id);
    const embedding = (id: string) => /embed/i.test(id);
    const chosen = ids.find((id) => !id.includes("/") && embedding(id)) ?? ids.find(embedding) ?? ids.find((id) => !id.includes("/")) ?? ids[0];
    if (chosen === undefined) {
      throw new ApiError("capability_not_found", "no embedding model is available: no service offering embeddings that you may use lists a model (register one, or set memory.model)");
    }
    return chosen;
  }
}
