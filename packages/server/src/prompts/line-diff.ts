/**
 * @module prompts/line-diff
 * A line diff of two prompt versions (kept ` `, removed `-`, added `+` lines, in order). Hand-written because the
 * server has no diff library and needs only this: the common head and tail are cut off, and the middle is aligned by
 * a longest common subsequence. Templates are at most 100,000 characters, but their middles could still be long; past
 * `MAX_CELLS` (n × m) the middle is shown as removed then added rather than spending seconds of CPU on one request.
 */
import type { PromptDiffLine } from "@kai/protocol";

/** The largest LCS table built (4 M cells of 4 bytes: 16 MB, a few tens of ms). */
const MAX_CELLS = 4_000_000;

export function diffLines(before: readonly string[], after: readonly string[]): PromptDiffLine[] {
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head++;
  let tail = 0;
  while (tail < before.length - head && tail < after.length - head && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  const a = before.slice(head, before.length - tail);
  const b = after.slice(head, after.length - tail);
  const lines: PromptDiffLine[] = before.slice(0, head).map((text) => ({ op: " ", text }));
  if (a.length * b.length > MAX_CELLS) {
    lines.push(...a.map((text): PromptDiffLine => ({ op: "-", text })), ...b.map((text): PromptDiffLine => ({ op: "+", text })));
  } else {
    lines.push(...middle(a, b));
  }
  lines.push(...before.slice(before.length - tail).map((text): PromptDiffLine => ({ op: " ", text })));
  return lines;
}

/** LCS alignment of `a` and `b`: `length[i][j]` is the LCS of `a[i..]` and `b[j..]`, walked from the start. */
function middle(a: readonly string[], b: readonly string[]): PromptDiffLine[] {
  const width = b.length + 1;
  const length = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      length[i * width + j] = a[i] === b[j] ? length[(i + 1) * width + j + 1]! + 1 : Math.max(length[(i + 1) * width + j]!, length[i * width + j + 1]!);
    }
  }
  const lines: PromptDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ op: " ", text: a[i]! });
      i++;
      j++;
    } else if (length[(i + 1) * width + j]! >= length[i * width + j + 1]!) {
      lines.push({ op: "-", text: a[i++]! });
    } else {
      lines.push({ op: "+", text: b[j++]! });
    }
  }
  while (i < a.length) lines.push({ op: "-", text: a[i++]! });
  while (j < b.length) lines.push({ op: "+", text: b[j++]! });
  return lines;
}
