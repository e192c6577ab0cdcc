/**
 * Files agents return from task steps become artifacts (docs/agents/tasks.md "Artifacts from steps"), through the real
 * node on SQLite with a KLP agent: kAI's `{name, contentType?, base64}` and an A2A FilePart with inline bytes are
 * stored (the task owner's, tagged with the agent and the task), the task API shows their references instead of the
 * bytes, the bytes download as the owner; other entries stay as given; a file over `artifacts.maxBytes` fails the
 * attempt (`artifact_rejected`) and stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, ListArtifactsResponseSchema, StepArtifactRefSchema, TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { createKlpAgent, type KlpAgent } from "../../../../sdk/src/agent-runtime/index.js";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";

const AGENT = "kPainter:files";
const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
let server: TestServer;
let alice: string;
let agent: KlpAgent;

async function run(input: Record<string, unknown>): Promise<Task> {
  const response = await server.request("/api/agent/task", { method: "POST", token: alice, json: { goal: "make files", agent: AGENT, capability: "make_files", input } });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  const id = TaskSchema.parse((JSON.parse(text) as { task: unknown }).task).id;
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 20_000);
}

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false }, artifacts: { maxBytes: 4096 } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write", "services:heartbeat", "artifacts:read"], "alice");
  agent = createKlpAgent({
    client: createClient({ url: server.url, token: alice }),
    key: klp.generateKeyPair(),
    manifest: { id: AGENT, name: "files", skills: [{ id: "files", name: "files", capability: "make_files" }], limits: { maxConcurrentTasks: 2, stepTimeoutMs: 10_000 } },
    handlers: {
      make_files: (input) => ({
        summary: "two files",
        artifacts: input.huge
          ? [{ name: "huge.bin", base64: Buffer.alloc(8192, 1).toString("base64") }]
          : [
              { name: "report.md", contentType: "text/markdown", base64: Buffer.from("# Report\n\nAll good.\n").toString("base64") },
              { kind: "file", file: { name: "pixel.png", mimeType: "image/png", bytes: Buffer.concat([PNG_HEADER, Buffer.alloc(16)]).toString("base64") } },
              { kind: "file", file: { uri: "https://example.org/elsewhere.pdf" } },
            ],
      }),
    },
  });
  await agent.start();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await server?.dispose();
});

describe("artifacts from task steps", () => {
  it("stores the files of a step's output as the owner's artifacts and shows their references in the task", async () => {
    const done = await run({});
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    const output = (done.result as { main: { summary: string; artifacts: unknown[] } }).main;
    expect(output.summary).toBe("two files");
    const [report, pixel, elsewhere] = output.artifacts;
    const reportRef = StepArtifactRefSchema.parse(report);
    const pixelRef = StepArtifactRefSchema.parse(pixel);
    expect(reportRef).toMatchObject({ name: "report.md", contentType: "text/markdown", size: 20 });
    expect(pixelRef).toMatchObject({ name: "pixel.png", contentType: "image/png", size: 24 });
    // A FilePart without bytes is not the node's to fetch: it stays as the agent gave it.
    expect(elsewhere).toEqual({ kind: "file", file: { uri: "https://example.org/elsewhere.pdf" } });
    expect(JSON.stringify(done)).not.toContain(Buffer.from("# Report").toString("base64"));

    const content = await server.request(`/api/artifacts/${reportRef.artifactId}/content`, { token: alice });
    expect(content.status).toBe(200);
    expect(await content.text()).toBe("# Report\n\nAll good.\n");
    const meta = (await (await server.request(`/api/artifacts/${pixelRef.artifactId}`, { token: alice })).json()) as { artifact: { uploader: string; tags: string[] } };
    expect(meta.artifact.uploader).toBe("alice");
    expect(meta.artifact.tags).toEqual([`agent:${AGENT}`, `task:${done.id}`]);
    const byAgent = ListArtifactsResponseSchema.parse(await (await server.request(`/api/artifacts?tag=${encodeURIComponent(`agent:${AGENT}`)}`, { token: alice })).json());
    expect(byAgent.artifacts.map((artifact) => artifact.id).sort()).toEqual([reportRef.artifactId, pixelRef.artifactId].sort());
  });

  it("fails the attempt when the artifact store refuses a file, and stores nothing", async () => {
    const before = ListArtifactsResponseSchema.parse(await (await server.request("/api/artifacts", { token: alice })).json()).artifacts.length;
    const done = await run({ huge: true });
    expect(done.state).toBe("failed");
    expect(done.steps[0]?.error?.code).toBe("artifact_rejected");
    expect(ListArtifactsResponseSchema.parse(await (await server.request("/api/artifacts", { token: alice })).json()).artifacts.length).toBe(before);
  });
});
