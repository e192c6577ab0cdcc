/**
 * @module extension/SidePanelHome
 * The side panel: the service chosen in the popup, shown by the app's own service page (views/services/detail)
 * in a small router of its own; it follows a new choice made while it is open. Without a choice it lists the
 * services to choose from.
 */
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { Button } from "../components/Button";
import { chromeApi } from "./browser-api";
import { onStoredChange, readSelectedService, SELECTED_SERVICE_KEY, selectService } from "./extension-connection";
import { ServiceSummary } from "./ServiceSummary";

const ServicePage = lazy(() => import("../views/services/detail/ServicePage"));

function NotInPanel() {
  return <p className="text-sm">This page opens in the full app.</p>;
}

function SelectedService({ id, onBack }: { id: string; onBack(): void }) {
  const router = useMemo(
    () =>
      createMemoryRouter(
        [
          { path: "/services/:id/*", element: <ServicePage /> },
          { path: "*", element: <NotInPanel /> },
        ],
        { initialEntries: [`/services/${encodeURIComponent(id)}`] },
      ),
    [id],
  );
  return (
    <div className="space-y-3">
      <Button onClick={onBack}>All services</Button>
      <main>
        <Suspense fallback={<p role="status">Loading…</p>}>
          <RouterProvider router={router} />
        </Suspense>
      </main>
    </div>
  );
}

export function SidePanelHome() {
  const [selected, setSelected] = useState<string | undefined | null>(null);

  useEffect(() => {
    let live = true;
    void readSelectedService().then((id) => live && setSelected(id));
    const stop = onStoredChange((_state, changed) => {
      if (changed.includes(SELECTED_SERVICE_KEY)) void readSelectedService().then((id) => live && setSelected(id));
    });
    return () => {
      live = false;
      stop();
    };
  }, []);

  if (selected === null) return <p role="status">Loading…</p>;
  if (selected === undefined) {
    return (
      <main className="space-y-3">
        <h1 className="text-lg font-semibold">Choose a service</h1>
        <ServiceSummary openLabel="Show" onOpen={(id) => void selectService(id)} />
      </main>
    );
  }
  return <SelectedService key={selected} id={selected} onBack={() => void chromeApi().storage.local.remove([SELECTED_SERVICE_KEY])} />;
}
