/**
 * @module test/gateway/fakes/vector-math
 * The little linear algebra the vector-database fakes need to rank points the way the real engines do.
 */
export const dot = (a: readonly number[], b: readonly number[]) => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
export const norm = (a: readonly number[]) => Math.sqrt(dot(a, a));
export const cosine = (a: readonly number[], b: readonly number[]) => dot(a, b) / (norm(a) * norm(b) || 1);
export const squaredL2 = (a: readonly number[], b: readonly number[]) => a.reduce((sum, value, index) => sum + (value - (b[index] ?? 0)) ** 2, 0);
