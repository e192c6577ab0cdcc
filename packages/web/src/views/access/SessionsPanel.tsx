/**
 * @module views/access/SessionsPanel
 * The signed-in user's own sessions (where and how they signed in, when last used); any can be ended. Ending the
 * current one is signing out. Administrators see another user's sessions in the Users panel.
 */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Session } from "@kai/sdk";
import { useClient, useSession } from "../../app/session";
import { Panel } from "../../components/Page";
import { Button } from "../../components/Button";
import { Badge } from "../../components/Badge";
import { ErrorNotice } from "../../components/ErrorNotice";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { When } from "../../components/When";
import { formatInstant } from "../../components/format-date";
import { CELL, Table } from "./shared";

export function SessionRows({ sessions, onRevoke }: { sessions: Session[]; onRevoke(session: Session): void }) {
  return (
    <Table label="Sessions" head={["Signed in", "How", "Last used", "From", "State", ""]}>
      {sessions.map((session) => (
        <tr key={session.id}>
          <td className={CELL}>
            <When at={session.createdAt} /> {session.current && <Badge tone="good">this session</Badge>}
          </td>
          <td className={CELL}>
            {session.method}
            {session.mfa ? " + second factor" : ""}
          </td>
          <td className={CELL}>
            <When at={session.lastUsedAt} />
          </td>
          <td className={CELL}>
            <span className="block">{session.address ?? "unknown address"}</span>
            <span className="block text-xs text-slate-600 dark:text-slate-400">{session.userAgent ?? ""}</span>
          </td>
          <td className={CELL}>{session.revokedAt ? <Badge tone="neutral">{`ended (${session.revokedReason ?? "revoked"})`}</Badge> : <Badge tone="good">live</Badge>}</td>
          <td className={CELL}>
            {!session.revokedAt && (
              <Button look="danger" onClick={() => onRevoke(session)} aria-label={`End session from ${session.address ?? "unknown address"} signed in ${formatInstant(session.createdAt)}`}>
                End
              </Button>
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function SessionsPanel() {
  const client = useClient();
  const { state, signOut } = useSession();
  const queries = useQueryClient();
  const hasUser = state.status === "signed-in" && state.me.user !== undefined;
  const sessions = useQuery({ queryKey: ["access", "my-sessions"], queryFn: () => client.auth.sessions.list(), enabled: hasUser });
  const [ending, setEnding] = useState<Session | null>(null);
  const revoke = useMutation({
    mutationFn: (session: Session) => client.auth.sessions.revoke(session.id),
    onSuccess: async (_done, session) => {
      setEnding(null);
      if (session.current) await signOut();
      else await queries.invalidateQueries({ queryKey: ["access", "my-sessions"] });
    },
  });

  if (!hasUser) return <Panel title="Your sessions"><p className="text-sm">This is an API token, not a person's sign-in: it has no sessions.</p></Panel>;
  return (
    <Panel title="Your sessions">
      <ErrorNotice error={sessions.error ?? revoke.error} />
      {sessions.data && <SessionRows sessions={sessions.data} onRevoke={setEnding} />}
      <ConfirmDialog
        open={ending !== null}
        title={ending?.current ? "End this session?" : "End the session?"}
        confirmLabel="End session"
        busy={revoke.isPending}
        onConfirm={() => ending && revoke.mutate(ending)}
        onCancel={() => setEnding(null)}
      >
        {ending?.current ? "This is the session you are using: you will be signed out." : "Whoever uses that session is signed out at once."}
      </ConfirmDialog>
    </Panel>
  );
}
