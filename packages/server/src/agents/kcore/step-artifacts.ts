/**
 * @module agents/kcore/step-artifacts
 * Files in a step's output become artifacts (docs/agents/tasks.md "Artifacts from steps"): each entry of an object
 * output's `artifacts` list that is a file (kAI's `{name, contentType?, base64}` or an A2A FilePart with inline
 * bytes) is uploaded through the artifact service and replaced by its reference `{artifactId, name, contentType,
 * size, sha256}`; other entries stay as they are. Done before the output is reviewed or stored, so neither the stored
 * task, its events nor a reviewer see the bytes. The artifact is the task owner's (an artifact is its uploader's, and
 * the owner must be able to download what their task produced); the agent that produced it and the task are its tags
 * (`agent:<id>`, `task:<id>`), so `GET /api/artifacts?tag=agent:…` lists what an agent made.
 */
import { Readable } from "node:stream";
import { StepArtifactSchema, type StepArtifact, type StepArtifactFileSchema, type A2aInlineFilePartSchema, type StepArtifactRef, type UploadArtifactResponse } from "@kai/protocol";
import type { z } from "zod";
import type { Principal } from "../../auth/principal.js";

/** What kCore uses of the artifact service (artifacts/artifact-service.ts). */
export interface StepArtifactsPort {
  upload(source: Readable, input: { name?: string | undefined; declaredType?: string | undefined; tags?: string[] | undefined }, principal: Principal): Promise<UploadArtifactResponse>;
}

/** An id as an artifact tag (letters, digits, `_ . : -`, at most 64). */
const tagOf = (prefix: string, id: string) => `${prefix}:${id.replace(/[^A-Za-z0-9_.:-]/g, "-")}`.slice(0, 64);

/** The bytes, name and declared type of either form. */
function contentOf(file: StepArtifact): { bytes: Buffer; name: string; declaredType: string | undefined } {
  // kAI's form is a strict object: only a FilePart has `kind`.
  if (!("kind" in file)) {
    const kai = file as z.infer<typeof StepArtifactFileSchema>;
    return { bytes: Buffer.from(kai.base64, "base64"), name: kai.name, declaredType: kai.contentType };
  }
  const part = file as z.infer<typeof A2aInlineFilePartSchema>;
  return { bytes: Buffer.from(part.file.bytes, "base64"), name: part.file.name ?? "artifact", declaredType: part.file.mimeType };
}

/** `output` with its files stored as artifacts (the same object when it carries none). */
export async function storeStepArtifacts(artifacts: StepArtifactsPort, output: unknown, origin: { taskId: string; agent: string }, principal: Principal): Promise<unknown> {
  if (output === null || typeof output !== "object" || Array.isArray(output)) return output;
  const listed = (output as Record<string, unknown>).artifacts;
  if (!Array.isArray(listed) || !listed.some((entry) => StepArtifactSchema.safeParse(entry).success)) return output;
  const stored: unknown[] = [];
  for (const entry of listed) {
    const file = StepArtifactSchema.safeParse(entry);
    if (!file.success) {
      stored.push(entry);
      continue;
    }
    const { bytes, name, declaredType } = contentOf(file.data);
    const { artifact } = await artifacts.upload(Readable.from([bytes]), { name, declaredType, tags: [tagOf("agent", origin.agent), tagOf("task", origin.taskId)] }, principal);
    const ref: StepArtifactRef = { artifactId: artifact.id, name: artifact.name, contentType: artifact.contentType, size: artifact.size, sha256: artifact.sha256 };
    stored.push(ref);
  }
  return { ...(output as Record<string, unknown>), artifacts: stored };
}
