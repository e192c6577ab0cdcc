/**
 * @module extension/PopupHome
 * The toolbar popup, signed in: the node and its services with their status; a service opens in the side panel,
 * the whole app opens in a tab, the node can be changed, and the user can sign out.
 */
import { useEffect, useState } from "react";
import { useSession } from "../app/session";
import { Button } from "../components/Button";
import { ErrorNotice } from "../components/ErrorNotice";
import { chromeApi } from "./browser-api";
import { forgetNode, selectService } from "./extension-connection";
import { ServiceSummary } from "./ServiceSummary";

/** The whole app in a tab: the extension's full-tab page. */
export const FULL_TAB_PATH = "popup.html?view=tab";

export function PopupHome({ nodeUrl }: { nodeUrl: string }) {
  const { signOut } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [windowId, setWindowId] = useState<number | undefined>();

  useEffect(() => {
    void chromeApi()
      .windows.getCurrent()
      .then((current) => setWindowId(current.id));
  }, []);

  function openInSidePanel(id: string) {
    setError(null);
    const api = chromeApi();
    // Chrome opens a side panel only in the click that asked for it: open first (nothing awaited before), and
    // write the choice alongside; the panel follows the stored choice when it arrives.
    const opened = api.sidePanel && windowId !== undefined ? api.sidePanel.open({ windowId }) : Promise.resolve();
    Promise.all([opened, selectService(id)]).catch(setError);
  }

  /** Ends the session on this node first (its tokens would otherwise stay valid there), then asks for an address. */
  async function changeNode() {
    try {
      await signOut();
    } finally {
      await forgetNode();
    }
  }

  return (
    <main className="space-y-4">
      <header className="space-y-0.5">
        <h1 className="text-lg font-semibold">kAI</h1>
        <p className="truncate text-xs text-slate-700 dark:text-slate-300" title={nodeUrl}>
          {nodeUrl}
        </p>
      </header>
      <ErrorNotice error={error} title="Could not open the side panel" />
      <ServiceSummary openLabel="Show" onOpen={openInSidePanel} />
      <div className="flex flex-wrap gap-2">
        <Button look="primary" onClick={() => void chromeApi().tabs.create({ url: chromeApi().runtime.getURL(FULL_TAB_PATH) })}>
          Open the full app
        </Button>
        <Button onClick={() => void changeNode()}>Change node</Button>
        <Button onClick={() => void signOut()}>Sign out</Button>
      </div>
    </main>
  );
}
