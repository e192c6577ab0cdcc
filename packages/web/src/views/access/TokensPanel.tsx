/**
 * @module views/access/TokensPanel
 * API tokens. Everyone signed in as a person: their own personal tokens (minted from the session, never beyond
 * what it holds; the value shown once). Administrators also: every token of the node, minted for any owner.
 * Values are never listed (the node keeps none); revoking asks first and stops the token at once.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CreateTokenRequestSchema, SCOPES, type CreateTokenRequestInput, type CreateTokenResponse, type TokenInfo } from "@kai/protocol";
import { useCan, useClient, useSession } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { Badge } from "../../components/Badge";
import { TextField } from "../../components/Field";
import { ErrorNotice } from "../../components/ErrorNotice";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { When } from "../../components/When";
import { CELL, CheckList, Table, fieldErrors } from "./shared";

function stateOf(token: TokenInfo): { word: string; tone: "good" | "neutral" | "bad" } {
  if (token.revokedAt) return { word: "revoked", tone: "neutral" };
  if (Date.parse(token.expiresAt) < Date.now()) return { word: "expired", tone: "bad" };
  return { word: "active", tone: "good" };
}

function TokenRows({ tokens, onRevoke }: { tokens: TokenInfo[]; onRevoke(token: TokenInfo): void }) {
  return (
    <Table label="Tokens" head={["Name", "Owner", "Scopes", "Expires", "State", ""]}>
      {tokens.map((token) => {
        const state = stateOf(token);
        return (
          <tr key={token.id}>
            <td className={CELL}>{token.name ?? <span className="font-mono text-xs">{token.id.slice(0, 8)}</span>}</td>
            <td className={CELL}>{token.owner}</td>
            <td className={`${CELL} font-mono text-xs`}>{token.scopes.join(" ")}</td>
            <td className={CELL}>
              <When at={token.expiresAt} />
            </td>
            <td className={CELL}>
              <Badge tone={state.tone}>{state.word}</Badge>
            </td>
            <td className={CELL}>
              {state.word === "active" && (
                <Button look="danger" onClick={() => onRevoke(token)} aria-label={`Revoke token ${token.name ?? token.id}`}>
                  Revoke
                </Button>
              )}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

/** Mint form: scopes (only those offered), lifetime, a name; an owner for the node's tokens. */
function MintForm({ offered, withOwner, onMint, busy }: { offered: readonly string[]; withOwner: boolean; busy: boolean; onMint(input: CreateTokenRequestInput): void }) {
  const [scopes, setScopes] = useState<string[]>([]);
  const [ttl, setTtl] = useState("30d");
  const [name, setName] = useState("");
  const [owner, setOwner] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = CreateTokenRequestSchema.safeParse({ scopes, ttl: ttl || undefined, name: name || undefined, ...(withOwner && owner ? { owner } : {}) });
    if (!parsed.success) return setErrors(fieldErrors(parsed.error));
    setErrors({});
    onMint(parsed.data);
  }
  return (
    <form onSubmit={submit} className="space-y-3 rounded-md border border-dashed border-slate-300 p-3 dark:border-slate-600" aria-label={withOwner ? "Mint a node token" : "Create a personal token"}>
      <CheckList legend="Scopes" options={offered} chosen={scopes} onChange={setScopes} />
      {errors.scopes && <p role="alert" className="text-xs text-red-700 dark:text-red-400">Scopes: {errors.scopes}</p>}
      <div className="grid gap-3 sm:grid-cols-3">
        <TextField label="Name" value={name} onChange={(event) => setName(event.target.value)} error={errors.name} />
        <TextField label="Lifetime" value={ttl} onChange={(event) => setTtl(event.target.value)} error={errors.ttl} hint="90s, 30m, 24h, 7d, 2w" />
        {withOwner && <TextField label="Owner" value={owner} onChange={(event) => setOwner(event.target.value)} error={errors.owner} hint="Whom the token acts for" />}
      </div>
      <Button look="primary" type="submit" busy={busy}>
        {withOwner ? "Mint token" : "Create token"}
      </Button>
    </form>
  );
}

function ShownOnce({ minted, onDone }: { minted: CreateTokenResponse; onDone(): void }) {
  return (
    <div role="status" className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-700 dark:bg-amber-950">
      <p className="font-medium">Copy the token now: it is shown only this once.</p>
      <TextField label="New token" readOnly value={minted.token} onFocus={(event) => event.currentTarget.select()} className="font-mono text-xs" />
      <Button onClick={onDone}>Done</Button>
    </div>
  );
}

function TokenSection({ title, queryKey, list, revoke, mint, offered, withOwner }: {
  title: string;
  queryKey: string;
  list(): Promise<TokenInfo[]>;
  revoke(id: string): Promise<void>;
  mint(input: CreateTokenRequestInput): Promise<CreateTokenResponse>;
  offered: readonly string[];
  withOwner: boolean;
}) {
  const queries = useQueryClient();
  const tokens = useQuery({ queryKey: ["access", queryKey], queryFn: list });
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);
  const [minted, setMinted] = useState<CreateTokenResponse | null>(null);
  const refresh = () => queries.invalidateQueries({ queryKey: ["access", queryKey] });
  const revocation = useMutation({ mutationFn: (token: TokenInfo) => revoke(token.id), onSuccess: async () => { setRevoking(null); await refresh(); } });
  const minting = useMutation({ mutationFn: mint, onSuccess: async (created) => { setMinted(created); await refresh(); } });
  return (
    <Panel title={title}>
      <div className="space-y-3">
        <ErrorNotice error={tokens.error ?? revocation.error ?? minting.error} />
        {minted ? <ShownOnce minted={minted} onDone={() => setMinted(null)} /> : <MintForm offered={offered} withOwner={withOwner} busy={minting.isPending} onMint={(input) => minting.mutate(input)} />}
        {tokens.data && (tokens.data.length === 0 ? <p className="text-sm">No tokens yet.</p> : <TokenRows tokens={tokens.data} onRevoke={setRevoking} />)}
      </div>
      <ConfirmDialog open={revoking !== null} title="Revoke the token?" confirmLabel="Revoke" busy={revocation.isPending} onConfirm={() => revoking && revocation.mutate(revoking)} onCancel={() => setRevoking(null)}>
        Programs using {revoking?.name ?? "this token"} are refused from now on.
      </ConfirmDialog>
    </Panel>
  );
}

export function TokensPanel() {
  const client = useClient();
  const { state } = useSession();
  const admin = useCan("admin");
  const me = state.status === "signed-in" ? state.me : undefined;
  // Personal tokens come from a session and never beyond it: offer only the scopes the session holds.
  const personal = me?.user !== undefined && me.via !== "token";
  return (
    <div className="space-y-4">
      {personal && me && (
        <TokenSection
          title="Your personal tokens"
          queryKey="my-tokens"
          list={() => client.me.tokens()}
          revoke={(id) => client.me.revokeToken(id)}
          mint={({ owner: _owner, ...input }) => client.me.createToken(input)}
          offered={me.scopes}
          withOwner={false}
        />
      )}
      {admin && (
        <TokenSection
          title="The node's API tokens"
          queryKey="node-tokens"
          list={() => client.tokens.list()}
          revoke={(id) => client.tokens.revoke(id)}
          mint={(input) => client.tokens.create(input)}
          offered={SCOPES}
          withOwner
        />
      )}
      {!personal && !admin && (
        <Panel title="Tokens">
          <p className="text-sm">Personal tokens are made from a signed-in session. Sign in with your password, a passkey or single sign-on to make one.</p>
        </Panel>
      )}
    </div>
  );
}
