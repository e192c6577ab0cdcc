/**
 * @module app/App
 * The app: data cache (React Query), the session, and the routes. Until someone is signed in, every path shows
 * the sign-in page; afterwards each view from views.ts has its route under the shell, and a view the session may
 * not use answers "not available" rather than an empty page.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { createBrowserRouter, createMemoryRouter, RouterProvider, type RouteObject } from "react-router";
import type { Connection } from "../api/connection";
import { SessionProvider, hasScope, useSession } from "./session";
import { Layout } from "./Layout";
import { VIEWS } from "./views";
import { SignInPage } from "../views/sign-in/SignInPage";
import { Page } from "../components/Page";

function NotFound() {
  return (
    <Page title="Not found">
      <p>There is no page at this address.</p>
    </Page>
  );
}

function Forbidden() {
  return (
    <Page title="Not available">
      <p>Your role does not include this part of the node. An administrator can grant it.</p>
    </Page>
  );
}

const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      ...VIEWS.map((view) => ({
        path: view.path === "" ? undefined : `${view.path}/*`,
        index: view.path === "" ? true : undefined,
        element: <Guard scope={view.scope} page={view.page} />,
      })) as RouteObject[],
      { path: "*", element: <NotFound /> },
    ],
  },
];

function Guard({ scope, page: View }: { scope: string | undefined; page: (typeof VIEWS)[number]["page"] }) {
  const { state } = useSession();
  if (scope !== undefined && !(state.status === "signed-in" && hasScope(state.me, scope))) return <Forbidden />;
  return <View />;
}

function Gate({ router }: { router: ReturnType<typeof createBrowserRouter> }) {
  const { state } = useSession();
  if (state.status === "loading") return <p role="status" className="p-6">Loading…</p>;
  if (state.status === "signed-out") return <SignInPage ended={state.reason === "ended"} />;
  return <RouterProvider router={router} />;
}

export interface AppProps {
  connection: Connection;
  /** Tests and the extension's popup: an in-memory history starting at this path. */
  initialPath?: string;
}

export function App({ connection, initialPath }: AppProps) {
  const [queries] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }));
  const [router] = useState(() => (initialPath !== undefined ? createMemoryRouter(routes, { initialEntries: [initialPath] }) : createBrowserRouter(routes)));
  return (
    <QueryClientProvider client={queries}>
      <SessionProvider connection={connection}>
        <Gate router={router} />
      </SessionProvider>
    </QueryClientProvider>
  );
}
