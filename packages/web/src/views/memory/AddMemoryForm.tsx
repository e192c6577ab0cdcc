/**
 * @module views/memory/AddMemoryForm
 * Stores a memory: its text (the node embeds it through its gateway), namespace, metadata as a JSON object of plain
 * values, and an optional lifetime. Checked with the protocol's schema first; the same text already in the namespace
 * comes back as the existing memory (said so), and a node with no embedding model says that as it comes.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { AddMemoryRequestSchema, parseJson, type AddMemoryResponse } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextArea, TextField } from "../../components/Field";

type Problems = Partial<Record<"text" | "namespace" | "metadata" | "ttl", string>>;

export function AddMemoryForm({ namespace: startNamespace, onAdded }: { namespace: string; onAdded(result: AddMemoryResponse): void }) {
  const client = useClient();
  const [text, setText] = useState("");
  const [namespace, setNamespace] = useState(startNamespace);
  const [metadata, setMetadata] = useState("{}");
  const [ttl, setTtl] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  const add = useMutation({ mutationFn: (request: Parameters<typeof client.memory.add>[0]) => client.memory.add(request), onSuccess: onAdded });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Problems = {};
    const parsed = parseJson(metadata.trim() === "" ? "{}" : metadata);
    if (!parsed.ok) found.metadata = 'enter a JSON object, e.g. {"topic": "billing"}';
    const ttlSeconds = ttl.trim() === "" ? undefined : Number(ttl);
    const checked = AddMemoryRequestSchema.safeParse({ text, namespace: namespace.trim(), metadata: parsed.ok ? parsed.value : {}, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) });
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path[0];
        const key: keyof Problems = field === "ttlSeconds" ? "ttl" : field === "namespace" || field === "metadata" ? field : "text";
        found[key] ??= key === "text" ? "write what should be remembered" : key === "ttl" ? "a number of seconds (at most a year)" : issue.message;
      }
    }
    setProblems(found);
    if (Object.keys(found).length === 0 && checked.success) add.mutate(checked.data);
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Add a memory" className="max-w-xl space-y-3">
      <TextArea label="Text" rows={3} value={text} onChange={(event) => setText(event.target.value)} error={problems.text} />
      <TextField label="Namespace" value={namespace} onChange={(event) => setNamespace(event.target.value)} error={problems.namespace} autoComplete="off" />
      <TextArea label="Metadata (JSON)" rows={2} className="font-mono" value={metadata} onChange={(event) => setMetadata(event.target.value)} error={problems.metadata} />
      <TextField label="Lifetime (seconds)" hint="empty: kept until deleted" inputMode="numeric" value={ttl} onChange={(event) => setTtl(event.target.value)} error={problems.ttl} autoComplete="off" />
      <ErrorNotice error={add.error} title="The memory was not stored" />
      <Button type="submit" look="primary" busy={add.isPending}>
        Remember
      </Button>
    </form>
  );
}
