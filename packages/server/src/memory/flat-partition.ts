/**
 * @module memory/flat-partition
 * One partition's vectors in one contiguous Float32Array, and the exact nearest-neighbour scan over them. Hand-written
 * because it is a dot-product loop and a bounded top-k list, nothing a library would add; it is the exact search the
 * embedded index answers with below its HNSW size threshold, the last resort of a filtered HNSW search, and the
 * ground truth of the recall benchmark. A removal moves the last row into the hole, so rows stay dense.
 */
import type { VectorHit } from "./vector-index.js";

export class FlatPartition {
  private data: Float32Array;
  private readonly ids: string[] = [];
  private readonly rowOf = new Map<string, number>();

  constructor(readonly dimensions: number, capacity = 64) {
    this.data = new Float32Array(dimensions * capacity);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** Adds or replaces `id`'s vector. */
  set(id: string, vector: Float32Array): void {
    if (vector.length !== this.dimensions) throw new Error(`a vector of ${vector.length} dimensions in a partition of ${this.dimensions}`);
    let row = this.rowOf.get(id);
    if (row === undefined) {
      row = this.ids.length;
      if ((row + 1) * this.dimensions > this.data.length) {
        const grown = new Float32Array(Math.max(this.data.length * 2, (row + 1) * this.dimensions));
        grown.set(this.data);
        this.data = grown;
      }
      this.ids.push(id);
      this.rowOf.set(id, row);
    }
    this.data.set(vector, row * this.dimensions);
  }

  delete(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    const last = this.ids.length - 1;
    if (row !== last) {
      const moved = this.ids[last]!;
      this.data.copyWithin(row * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      this.ids[row] = moved;
      this.rowOf.set(moved, row);
    }
    this.ids.pop();
    this.rowOf.delete(id);
    return true;
  }

  /** `id`'s vector (a view: copy it before keeping it). */
  vector(id: string): Float32Array | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : this.data.subarray(row * this.dimensions, (row + 1) * this.dimensions);
  }

  /** Every id and vector (views), for building an approximate index over them. */
  *entries(): Generator<{ id: string; vector: Float32Array }> {
    for (let row = 0; row < this.ids.length; row++) yield { id: this.ids[row]!, vector: this.data.subarray(row * this.dimensions, (row + 1) * this.dimensions) };
  }

  /** The exact `k` best accepted vectors at or above `threshold`, best first. */
  search(query: Float32Array, k: number, accept?: (id: string) => boolean, threshold = -Infinity): VectorHit[] {
    const dims = this.dimensions;
    const data = this.data;
    // A bounded list kept sorted best first: k is small (a page of results), so insertion beats a heap here.
    const scores: number[] = [];
    const rows: number[] = [];
    for (let row = 0; row < this.ids.length; row++) {
      // The filter first: it is a look-up, the dot product is `dims` multiplications (a 1% filter skips 99% of them).
      if (accept && !accept(this.ids[row]!)) continue;
      const base = row * dims;
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += data[base + d]! * query[d]!;
      if (dot < threshold) continue;
      if (scores.length === k && dot <= scores[k - 1]!) continue;
      let at = scores.length === k ? k - 1 : scores.length;
      while (at > 0 && scores[at - 1]! < dot) {
        scores[at] = scores[at - 1]!;
        rows[at] = rows[at - 1]!;
        at--;
      }
      scores[at] = dot;
      rows[at] = row;
    }
    return scores.map((score, index) => ({ id: this.ids[rows[index]!]!, score }));
  }
}
