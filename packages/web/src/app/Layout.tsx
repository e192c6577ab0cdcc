/**
 * @module app/Layout
 * The shell around every page: a skip link, the header (node, theme, who is signed in, sign-out), the
 * navigation built from the view list (only the views the session may use), and the page itself.
 */
import { Suspense } from "react";
import { NavLink, Outlet } from "react-router";
import { VIEWS, type ViewEntry } from "./views";
import { hasScope, useSession } from "./session";
import { ThemeSwitch } from "./ThemeSwitch";
import { Button } from "../components/Button";
import { NotificationsBell } from "../components/notifications/NotificationsBell";
import { PluginNav } from "../views/plugins/PluginNav";

function NavGroup({ label, views }: { label: string; views: ViewEntry[] }) {
  if (views.length === 0) return null;
  return (
    <div>
      <p className="px-3 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-400">{label}</p>
      <ul className="space-y-0.5">
        {views.map((view) => (
          <li key={view.id}>
            <NavLink
              to={`/${view.path}`}
              end={view.path === ""}
              data-testid={`nav-${view.id}`}
              className={({ isActive }) =>
                `block rounded-md px-3 py-1.5 text-sm ${isActive ? "bg-sky-100 font-medium text-sky-900 dark:bg-sky-900 dark:text-sky-50" : "text-slate-800 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"}`
              }
            >
              {view.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Layout() {
  const { state, signOut } = useSession();
  const me = state.status === "signed-in" ? state.me : undefined;
  const visible = VIEWS.filter((view) => view.scope === undefined || hasScope(me, view.scope));
  return (
    <div className="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2 dark:focus:bg-slate-900">
        Skip to content
      </a>
      <header className="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-2 dark:border-slate-800 dark:bg-slate-900">
        <span className="font-semibold">kAI</span>
        <div className="flex items-center gap-3">
          <ThemeSwitch />
          {/* Notifications come from the event stream, which needs agents:read. */}
          <NotificationsBell enabled={hasScope(me, "agents:read")} />
          {me && (
            <span className="text-sm" data-testid="signed-in-as">
              {me.user?.username ?? me.owner}
            </span>
          )}
          <Button onClick={() => void signOut()}>Sign out</Button>
        </div>
      </header>
      <div className="flex">
        <nav aria-label="Main" className="w-48 shrink-0 space-y-4 border-r border-slate-200 p-3 dark:border-slate-800">
          <NavGroup label="Use" views={visible.filter((view) => view.group === "use")} />
          <PluginNav />
          <NavGroup label="Administer" views={visible.filter((view) => view.group === "admin")} />
        </nav>
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 p-6">
          <Suspense fallback={<p role="status">Loading…</p>}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </div>
  );
}
