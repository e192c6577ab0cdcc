/**
 * @module views/peers/AddPeerForm
 * Adds a federation peer by URL. The node reads the peer's signed node document and pins the DID it names, or checks
 * the DID given here (the safe way: a DID obtained from the peer's operator out of band). The answer shows the pinned
 * DID so the person can compare it. Validated with the protocol's AddPeerRequestSchema before it is sent.
 */
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { klp } from "@kai/protocol";
import { useClient } from "../../app/session";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { TextField } from "../../components/Field";
import { useRefreshPeers } from "./peers-queries";

type Problems = Partial<Record<"url" | "did" | "name", string>>;

// noValidate: the protocol schema checks the fields and says what is wrong in the app's words, the same way everywhere.
export function AddPeerForm({ onDone }: { onDone(): void }) {
  const client = useClient();
  const refresh = useRefreshPeers();
  const [url, setUrl] = useState("");
  const [did, setDid] = useState("");
  const [name, setName] = useState("");
  const [trusted, setTrusted] = useState(true);
  const [problems, setProblems] = useState<Problems>({});
  const [added, setAdded] = useState<{ peer: klp.PeerInfo; created: boolean }>();
  const add = useMutation({
    mutationFn: (input: klp.AddPeerRequest) => client.peers.add(input),
    onSuccess: async (result) => {
      setAdded(result);
      setUrl("");
      setDid("");
      setName("");
      await refresh();
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = { url: url.trim(), ...(did.trim() !== "" ? { did: did.trim() } : {}), ...(name.trim() !== "" ? { name: name.trim() } : {}), trusted };
    const checked = klp.AddPeerRequestSchema.safeParse(input);
    const found: Problems = {};
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const field = issue.path[0] as keyof Problems;
        found[field] ??= field === "url" ? "enter the peer's http(s) address, e.g. https://node-b.example:7070" : field === "did" ? "not a KLP DID (kind:did:…#ed25519)" : issue.message;
      }
    }
    setProblems(found);
    setAdded(undefined);
    if (checked.success) add.mutate(checked.data);
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Add a peer" className="max-w-xl space-y-3">
      <TextField label="Peer URL" type="url" value={url} onChange={(event) => setUrl(event.target.value)} error={problems.url} placeholder="https://node-b.example:7070" autoComplete="off" />
      <TextField
        label="Expected DID"
        value={did}
        onChange={(event) => setDid(event.target.value)}
        error={problems.did}
        hint="Optional but safer: the DID the peer's operator gave you. Without it, the DID the peer's document names is pinned; compare it below."
        spellCheck={false}
        autoComplete="off"
      />
      <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} error={problems.name} hint="Optional; how this node shows the peer" />
      <div className="flex items-center gap-2">
        <input id="add-peer-trusted" type="checkbox" checked={trusted} onChange={(event) => setTrusted(event.target.checked)} className="h-4 w-4" />
        <label htmlFor="add-peer-trusted" className="text-sm">
          Trust now (import its public records); unchecked, it is listed but cut off until trusted
        </label>
      </div>
      <div className="flex gap-2">
        <Button type="submit" look="primary" busy={add.isPending}>
          Add peer
        </Button>
        <Button onClick={onDone}>Close</Button>
      </div>
      <ErrorNotice error={add.error} title="The peer was not added" />
      {added && (
        <div role="status" className="rounded-md border border-slate-300 p-3 text-sm dark:border-slate-600">
          <p>
            {added.created ? "Added" : "Updated"} {added.peer.name ?? added.peer.url}. Pinned DID:
          </p>
          <code className="block break-all font-mono text-xs">{added.peer.did}</code>
          <p className="mt-1">Compare it with the DID the peer&apos;s operator gave you; if it differs, remove the peer.</p>
        </div>
      )}
    </form>
  );
}
