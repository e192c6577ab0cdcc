/**
 * @module views/settings/PasskeyList
 * The person's passkeys by name, when added and last used, each removable (with proof of a factor: removing one is a
 * change to their factors like adding one).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { KaiClient } from "@kai/sdk";
import type { SecondFactorProof } from "@kai/protocol";
import { Button } from "../../components/Button";
import { ErrorNotice } from "../../components/ErrorNotice";
import { When } from "../../components/When";

export const PASSKEYS_QUERY = ["settings", "passkeys"] as const;

export function PasskeyList({ client, proof, onChanged }: { client: KaiClient; proof: () => Promise<SecondFactorProof | undefined>; onChanged: () => Promise<unknown> }) {
  const queries = useQueryClient();
  const passkeys = useQuery({ queryKey: PASSKEYS_QUERY, queryFn: () => client.mfa.passkeys.list() });
  const remove = useMutation({
    mutationFn: async (id: string) => {
      const given = await proof();
      if (given === undefined) throw new Error("Confirm the removal with one of your factors first.");
      await client.mfa.passkeys.remove(id, given);
    },
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: PASSKEYS_QUERY });
      await onChanged();
    },
  });
  const list = passkeys.data ?? [];
  return (
    <div className="space-y-2">
      <ErrorNotice error={passkeys.error ?? remove.error} />
      {list.length > 0 && (
        <ul aria-label="Passkeys" className="divide-y divide-slate-200 rounded-md border border-slate-200 text-sm dark:divide-slate-700 dark:border-slate-700">
          {list.map((passkey) => {
            const name = passkey.name ?? "unnamed passkey";
            return (
              <li key={passkey.id} className="flex flex-wrap items-center justify-between gap-2 px-3 py-2">
                <span>
                  <span className="font-medium">{name}</span>
                  <span className="ml-2 text-slate-600 dark:text-slate-400">
                    added <When at={passkey.createdAt} kind="day" />
                    {passkey.lastUsedAt ? (
                      <>
                        , last used <When at={passkey.lastUsedAt} kind="day" />
                      </>
                    ) : (
                      ", never used"
                    )}
                    {passkey.backedUp ? ", synced" : ""}
                  </span>
                </span>
                <Button look="danger" busy={remove.isPending && remove.variables === passkey.id} aria-label={`Remove passkey ${name}`} onClick={() => remove.mutate(passkey.id)}>
                  Remove
                </Button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
