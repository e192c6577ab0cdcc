/**
 * @module views/vault/PoliciesPanel
 * Who may do what with the vault. The node has no separate policy language: access follows scopes (from roles, capped
 * on every token) and, per token, optional secret-name patterns (`openai/*`, `services/**`). This panel reads both and
 * says them in words: each role's vault rights, and (for admins) the live tokens that hold vault scopes, with the
 * secrets they are limited to.
 */
import { useQuery } from "@tanstack/react-query";
import type { Role, Scope, TokenInfo } from "@kai/protocol";
import { useClient } from "../../app/session";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Panel } from "../../components/Page";
import { When } from "../../components/When";
import { useVaultAccess } from "./vault-access";
import { vaultKeys } from "./vault-queries";

const CELL = "px-2 py-1.5 align-top";

/** The vault rights a set of scopes gives, in the vault's own terms (vault:admin holds read and write; admin holds all). */
export function vaultRights(scopes: readonly Scope[]): string[] {
  const admin = scopes.includes("admin");
  const manage = admin || scopes.includes("vault:admin");
  const rights: string[] = [];
  if (manage || scopes.includes("vault:read")) rights.push("list and reveal");
  if (manage || scopes.includes("vault:write")) rights.push("store and delete");
  if (manage) rights.push("unlock, lock, rotate");
  if (admin) rights.push("read the audit log");
  return rights;
}

const holdsVault = (scopes: readonly Scope[]) => vaultRights(scopes).length > 0;

export function PoliciesPanel() {
  const client = useClient();
  const access = useVaultAccess();
  const roles = useQuery({ queryKey: vaultKeys.roles, queryFn: () => client.roles.list() });
  const tokens = useQuery({ queryKey: vaultKeys.tokens, queryFn: () => client.tokens.list(), enabled: access.audit });
  return (
    <Panel title="Policies">
      <div className="space-y-4 text-sm">
        <p>
          Access to secrets follows the scopes of each role (every token is capped by its user&apos;s roles) and, per token, the secret-name
          patterns it was limited to. The vault checks and audits every call.
        </p>
        <ErrorNotice error={roles.error} title="The roles could not be read" />
        {roles.data && <RolesTable roles={roles.data} />}
        {access.audit && (
          <>
            <ErrorNotice error={tokens.error} title="The tokens could not be read" />
            {tokens.data && <TokensTable tokens={tokens.data.filter((token) => token.revokedAt === null && holdsVault(token.scopes))} />}
          </>
        )}
      </div>
    </Panel>
  );
}

function RolesTable({ roles }: { roles: Role[] }) {
  return (
    <table className="w-full text-left" aria-label="Vault rights by role">
      <thead className="border-b border-slate-200 dark:border-slate-700">
        <tr>
          <th scope="col" className={CELL}>Role</th>
          <th scope="col" className={CELL}>May</th>
        </tr>
      </thead>
      <tbody>
        {roles.map((role) => {
          const rights = vaultRights(role.scopes);
          return (
            <tr key={role.name} className="border-b border-slate-100 dark:border-slate-800">
              <th scope="row" className={`${CELL} font-normal`}>
                {role.name}
                {role.builtIn && <span className="text-xs text-slate-600 dark:text-slate-400"> (built in)</span>}
              </th>
              <td className={CELL}>{rights.length > 0 ? rights.join("; ") : "nothing in the vault"}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function TokensTable({ tokens }: { tokens: TokenInfo[] }) {
  if (tokens.length === 0) return <p>No API token holds a vault scope.</p>;
  return (
    <table className="w-full text-left" aria-label="API tokens with vault access">
      <thead className="border-b border-slate-200 dark:border-slate-700">
        <tr>
          <th scope="col" className={CELL}>Token</th>
          <th scope="col" className={CELL}>May</th>
          <th scope="col" className={CELL}>Secrets</th>
          <th scope="col" className={CELL}>Expires</th>
        </tr>
      </thead>
      <tbody>
        {tokens.map((token) => (
          <tr key={token.id} className="border-b border-slate-100 dark:border-slate-800">
            <th scope="row" className={`${CELL} font-normal`}>
              {token.name ?? token.id} <span className="text-xs">of {token.owner}</span>
            </th>
            <td className={CELL}>{vaultRights(token.scopes).join("; ")}</td>
            <td className={`${CELL} font-mono text-xs`}>{token.secrets && token.secrets.length > 0 ? token.secrets.join(", ") : <span className="font-sans">every secret</span>}</td>
            <td className={CELL}>
              <When at={token.expiresAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
