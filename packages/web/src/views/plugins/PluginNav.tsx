/**
 * @module views/plugins/PluginNav
 * The navigation's "Plugins" group: one entry per running plugin with a UI page (GET /api/plugin-uis), for sessions
 * that may call plugins (gateway:invoke). Nothing is shown when there is none. A plugin with an icon (`icon: true`)
 * shows it beside its name: an <img> from `GET /api/plugins/{id}/ui/icon` (an image: an SVG's scripts never run in one).
 */
import { NavLink } from "react-router";
import { useCan, useSession } from "../../app/session";
import { usePluginUis } from "./plugins-queries";

export function PluginNav() {
  const uis = usePluginUis(useCan("gateway:invoke"));
  const { connection } = useSession();
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
                `flex items-center gap-2 rounded-md px-3 py-1.5 text-sm ${isActive ? "bg-sky-100 font-medium text-sky-900 dark:bg-sky-900 dark:text-sky-50" : "text-slate-800 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"}`
              }
            >
              {plugin.icon ? (
                <img
                  src={`${connection.url}/api/plugins/${encodeURIComponent(plugin.id)}/ui/icon`}
                  alt=""
                  width={16}
                  height={16}
                  className="h-4 w-4 shrink-0"
                  data-testid={`nav-plugin-icon-${plugin.id}`}
                />
              ) : null}
              <span>{plugin.name}</span>
            </NavLink>
          </li>
        ))}
      </ul>
    </div>
  );
}
