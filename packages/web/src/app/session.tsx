/**
 * @module app/session
 * The signed-in person as the app knows them: who they are and which scopes their session holds (from
 * `GET /api/auth/validate`), and the connection their calls go through. What a user sees and may press follows
 * these scopes (`useCan`); the server checks every call again, so hiding is for clarity, not for security.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { KaiClient, ValidateResponse } from "@kai/sdk";
import type { Connection } from "../api/connection";
import { useTheme } from "./theme";

export type SessionState =
  | { status: "loading" }
  | { status: "signed-out"; reason?: "ended" | "signed-out" }
  | { status: "signed-in"; me: ValidateResponse };

interface SessionContextValue {
  connection: Connection;
  state: SessionState;
  /** Reads who is signed in (after a sign-in, or to pick up changed roles). */
  refreshIdentity(): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function SessionProvider({ connection, children }: { connection: Connection; children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const queries = useQueryClient();

  const refreshIdentity = useCallback(async () => {
    try {
      const me = await connection.client.auth.validate();
      setState({ status: "signed-in", me });
      // A person's theme follows them from browser to browser (saved in their preferences by Settings and the header).
      if (me.user?.kind === "person") {
        void connection.client.me.get().then(
          (profile) => {
            if (profile.preferences.theme !== undefined) useTheme.getState().setChoice(profile.preferences.theme);
          },
          () => undefined, // The theme stays this browser's own choice.
        );
      }
    } catch {
      setState({ status: "signed-out" });
    }
  }, [connection]);

  useEffect(() => {
    let live = true;
    void connection.resume().then(async (resumed) => {
      if (!live) return;
      if (resumed) await refreshIdentity();
      else setState({ status: "signed-out" });
    });
    const stop = connection.onSessionEnd(() => {
      queries.clear();
      setState({ status: "signed-out", reason: "ended" });
    });
    return () => {
      live = false;
      stop();
    };
  }, [connection, refreshIdentity, queries]);

  const signOut = useCallback(async () => {
    try {
      await connection.client.auth.logout();
    } finally {
      queries.clear();
      setState({ status: "signed-out", reason: "signed-out" });
    }
  }, [connection, queries]);

  const value = useMemo(() => ({ connection, state, refreshIdentity, signOut }), [connection, state, refreshIdentity, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside <SessionProvider>");
  return value;
}

/** The SDK client every view calls the node with. */
export function useClient(): KaiClient {
  return useSession().connection.client;
}

/** Whether the signed-in session holds `scope` (`admin` holds every scope). */
export function hasScope(me: ValidateResponse | undefined, scope: string): boolean {
  if (!me) return false;
  return me.scopes.includes("admin") || me.scopes.includes(scope as never);
}

/** `useCan("vault:read")`: for showing or hiding what the user may not use. */
export function useCan(scope: string): boolean {
  const { state } = useSession();
  return state.status === "signed-in" && hasScope(state.me, scope);
}
