/**
 * @module views/plugins/PluginNav
 * The navigation's "Plugins" group: one entry per running plugin with a UI page (GET /api/plugin-uis), for sessions
 * that may call plugins (gateway:invoke). Nothing is shown when there is none.
 */
import { NavLink } from "react-router";
import { useCan } from "../../app/session";
import { usePluginUis } from "./plugins-queries";

export function PluginNav() {
  const uis = usePluginUis(useCan("gateway:invoke"));
  const plugins = uis.data?.plugins ?? [];
  if (plugins.length === 0) return null;
  return (
    <div>
      <p className="px-3 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-400">Plugins</p>
      <ul className="space-y-0.5">
        {plugins.map((plugin) => (
          <li key={plugin.id}>
            <NavLink
              to={`/plugin-ui/${encodeURIComponent(plugin.id)}`}
              data-testid={`nav-plugin-${plugin.id}`}
              className={({ isActive }) =>
                `block rounded-md px-3 py-1.5 text-sm ${isActive ? "bg-sky-100 font-medium text-sky-900 dark:bg-sky-900 dark:text-sky-50" : "text-slate-800 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"}`
              }
            >
              {plugin.name}
            </NavLink>
          </li>
        ))}
      </ul>
    </div>
  );
}
