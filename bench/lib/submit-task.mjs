/**
 * @module bench/lib/submit-task
 * `POST /api/agent/task` through an undici Pool: resolves with the new task's id, throws unless the node answered 202.
 * Shared by bench/agents.mjs (phase 2, and phase 1 with BENCH_AGENTS_CLIENT=main) and its client worker thread.
 */
export async function submitTask(pool, token, body) {
  const response = await pool.request({
    method: "POST",
    path: "/api/agent/task",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode !== 202) throw new Error(`POST /api/agent/task -> ${response.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text).task.id;
}
