/**
 * @module views/access
 * The Access page: users, roles, tokens and sessions, each under its own address (`/access/users`, …). What a
 * person sees and may press follows their scopes: users and the node's tokens only for administrators, roles for
 * all (changing them for administrators), their own tokens and sessions for anyone signed in as a person. The
 * node checks every call again.
 */
import { NavLink, Navigate, Route, Routes } from "react-router";
import { useCan } from "../../app/session";
import { Page } from "../../components/Page";
import { UsersPanel } from "./UsersPanel";
import { RolesPanel } from "./RolesPanel";
import { TokensPanel } from "./TokensPanel";
import { SessionsPanel } from "./SessionsPanel";

const TAB = "rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline focus-visible:outline-2 focus-visible:outline-sky-600";

export default function AccessPage() {
  const admin = useCan("admin");
  const sections = [...(admin ? [{ path: "users", label: "Users" }] : []), { path: "roles", label: "Roles" }, { path: "tokens", label: "Tokens" }, { path: "sessions", label: "Sessions" }];
  return (
    <Page title="Access">
      <nav aria-label="Access sections" className="flex flex-wrap gap-2">
        {sections.map((section) => (
          <NavLink
            key={section.path}
            to={`/access/${section.path}`}
            className={({ isActive }) => `${TAB} ${isActive ? "bg-sky-700 text-white" : "border border-slate-300 dark:border-slate-600"}`}
          >
            {section.label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to={admin ? "users" : "sessions"} replace />} />
        {admin && <Route path="users" element={<UsersPanel />} />}
        <Route path="roles" element={<RolesPanel />} />
        <Route path="tokens" element={<TokensPanel />} />
        <Route path="sessions" element={<SessionsPanel />} />
        <Route path="*" element={<p>Your role does not include this part of Access.</p>} />
      </Routes>
    </Page>
  );
}
