/**
 * @module extension/ExtensionRoot
 * One root for every extension page: it reads the node's address and the session from extension storage,
 * builds the page's connection, and follows changes other pages make (a new address, a sign-in or sign-out, a
 * refresh token another page rotated: this page then takes the new session rather than spend a stale token,
 * which the node would treat as theft and answer by ending the session).
 *
 * Pages: `popup` (services and status), `sidepanel` (the selected service), `tab` (the whole app) and `options`
 * (the node's address).
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { App } from "../app/App";
import { SessionProvider, useSession } from "../app/session";
import { SignInPage } from "../views/sign-in/SignInPage";
import { extensionConnection, NODE_URL_KEY, onStoredChange, readStored, SESSION_KEY, type StoredState } from "./extension-connection";
import { NodeAddressForm } from "./NodeAddressForm";
import { PopupHome } from "./PopupHome";
import { SidePanelHome } from "./SidePanelHome";

export type ExtensionPageKind = "popup" | "sidepanel" | "tab" | "options";

const FRAME: Record<ExtensionPageKind, string> = {
  popup: "w-[24rem] max-h-[36rem] overflow-y-auto p-4",
  sidepanel: "min-h-screen p-3",
  tab: "",
  options: "mx-auto max-w-md p-6",
};

function SignedInGate({ children }: { children: ReactNode }) {
  const { state } = useSession();
  if (state.status === "loading") return <p role="status">Loading…</p>;
  if (state.status === "signed-out") return <SignInPage ended={state.reason === "ended"} />;
  return <>{children}</>;
}

export function ExtensionRoot({ kind }: { kind: ExtensionPageKind }) {
  const [stored, setStored] = useState<(StoredState & { generation: number }) | undefined>();
  // The refresh token this page wrote last (null: it removed the session), to tell its own writes from others'.
  const written = useRef<string | null | undefined>(undefined);

  useEffect(() => {
    let live = true;
    void readStored().then((state) => live && setStored({ ...state, generation: 0 }));
    const stop = onStoredChange((state, changed) => {
      const ownWrite = !changed.includes(NODE_URL_KEY) && changed.includes(SESSION_KEY) && (state.session?.refreshToken ?? null) === written.current;
      if (ownWrite || !(changed.includes(NODE_URL_KEY) || changed.includes(SESSION_KEY))) return;
      written.current = undefined;
      setStored((previous) => ({ ...state, generation: (previous?.generation ?? 0) + 1 }));
    });
    return () => {
      live = false;
      stop();
    };
  }, []);

  const connection = useMemo(() => {
    if (stored?.nodeUrl === undefined) return undefined;
    return extensionConnection({ nodeUrl: stored.nodeUrl, ...(stored.session ? { session: stored.session } : {}) }, (tokens) => {
      written.current = tokens?.refreshToken ?? null;
    });
    // A new connection only when the stored state changed under this page (generation), not on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stored?.generation, stored?.nodeUrl]);

  const [queries] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }));

  let body: ReactNode;
  if (stored === undefined) body = <p role="status">Loading…</p>;
  else if (kind === "options" || connection === undefined) {
    body = (
      <main className="space-y-3">
        <NodeAddressForm {...(stored.nodeUrl !== undefined ? { current: stored.nodeUrl } : {})} />
      </main>
    );
  } else if (kind === "tab") body = <App key={stored.generation} connection={connection} initialPath="/" />;
  else {
    body = (
      <QueryClientProvider client={queries}>
        <SessionProvider key={stored.generation} connection={connection}>
          <SignedInGate>{kind === "popup" ? <PopupHome nodeUrl={connection.url} /> : <SidePanelHome />}</SignedInGate>
        </SessionProvider>
      </QueryClientProvider>
    );
  }
  return <div className={`bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100 ${FRAME[kind]}`}>{body}</div>;
}
