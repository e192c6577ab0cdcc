/**
 * @module gateway/connectors/embedding-encoding
 * OpenAI's `encoding_format` for embeddings: `float` (a JSON array of numbers, the default) or `base64`
 * (the vector's little-endian float32 bytes, base64-encoded). The official `openai` client asks for base64
 * unless told otherwise and decodes whatever string comes back, so a connector that ignores the field
 * hands that client empty or garbled vectors. Every connector that answers embeddings passes its answer
 * through `inEncoding`: providers that have no such option (Ollama) and OpenAI-compatible servers that
 * ignore it get the caller's format all the same.
 */
import type { EmbeddingRequest, EmbeddingResponse } from "@kai/protocol";

export type EmbeddingEncoding = NonNullable<EmbeddingRequest["encoding_format"]>;

/** One vector as OpenAI's base64: float32, little-endian (what the `openai` client decodes). */
export function toBase64Vector(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString("base64");
}

/** The numbers of a base64 float32 vector; trailing bytes that do not make a whole float are dropped. */
export function fromBase64Vector(text: string): number[] {
  const bytes = Buffer.from(text, "base64");
  const out = new Array<number>(Math.floor(bytes.length / 4));
  for (let index = 0; index < out.length; index++) out[index] = bytes.readFloatLE(index * 4);
  return out;
}

/** One embedding in the requested encoding, whichever form the provider sent. */
export function encodeVector(embedding: readonly number[] | string, format: EmbeddingEncoding | undefined): number[] | string {
  if (format === "base64") return typeof embedding === "string" ? embedding : toBase64Vector(embedding);
  return typeof embedding === "string" ? fromBase64Vector(embedding) : (embedding as number[]);
}

/** The answer with every embedding in the format the request asked for (`float` when it named none). */
export function inEncoding(response: EmbeddingResponse, format: EmbeddingEncoding | undefined): EmbeddingResponse {
  const wantString = format === "base64";
  // Usually the provider honoured the request already: no copy then.
  if (response.data.every((entry) => (typeof entry.embedding === "string") === wantString)) return response;
  return { ...response, data: response.data.map((entry) => ({ ...entry, embedding: encodeVector(entry.embedding, format) })) };
}
