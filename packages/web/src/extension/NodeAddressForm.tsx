/**
 * @module extension/NodeAddressForm
 * Where the extension asks which node to talk to (first use, "Change node", the options page). The address is
 * checked before it is kept; a node other than localhost needs the user's permission, asked in the same click.
 */
import { useState, type FormEvent } from "react";
import { Button } from "../components/Button";
import { TextField } from "../components/Field";
import { parseNodeUrl, saveNodeUrl } from "./extension-connection";

export function NodeAddressForm({ current, onSaved }: { current?: string; onSaved?: (url: string) => void }) {
  const [address, setAddress] = useState(current ?? "http://localhost:7070");
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const parsed = parseNodeUrl(address);
    if ("error" in parsed) {
      setError(parsed.error);
      return;
    }
    const result = await saveNodeUrl(parsed.url);
    if (!result.ok) {
      setError(result.error);
      return;
    }
    setError(undefined);
    setSaved(true);
    onSaved?.(parsed.url);
  }

  return (
    <form onSubmit={(event) => void submit(event)} className="space-y-3" aria-labelledby="node-address-title">
      <h1 id="node-address-title" className="text-lg font-semibold">
        Connect to a kAI node
      </h1>
      <p className="text-sm">The extension talks to the node at this address. You sign in there next.</p>
      <TextField label="Node address" name="node-url" type="text" inputMode="url" autoComplete="url" required value={address} onChange={(event) => setAddress(event.target.value)} {...(error !== undefined ? { error } : {})} />
      <Button look="primary" type="submit">
        Connect
      </Button>
      {saved && (
        <p role="status" className="text-sm">
          Saved.
        </p>
      )}
    </form>
  );
}
