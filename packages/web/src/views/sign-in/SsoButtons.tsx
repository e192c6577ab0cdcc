/**
 * @module views/sign-in/SsoButtons
 * Single sign-on: one button per provider the node offers. A button is a plain link to the node's start address
 * (a top-level navigation, as OpenID Connect needs) with the current path to come back to; the browser returns
 * there with a cookie session, which the app resumes like after any reload. Only the tab (cookie mode) offers it:
 * the extension talks to the node with tokens, and a provider's redirect would land in a tab, not in the extension.
 */
import { useQuery } from "@tanstack/react-query";
import { useSession } from "../../app/session";

const LINK =
  "flex w-full items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-900 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700";

/** The path to come back to: where the person was, without the sign-in page's own query (a previous error). */
function returnPath(): string {
  if (typeof window === "undefined") return "/";
  const path = window.location.pathname;
  return path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

export function SsoButtons() {
  const { connection } = useSession();
  const providers = useQuery({
    queryKey: ["sign-in", "sso-providers", connection.url],
    queryFn: () => connection.client.auth.ssoProviders(),
    enabled: connection.mode === "cookie",
    retry: false,
  });
  if (connection.mode !== "cookie" || !providers.data || providers.data.length === 0) return null;
  return (
    <nav aria-label="Single sign-on" className="space-y-2">
      <p className="text-center text-xs text-slate-600 dark:text-slate-400">or</p>
      {providers.data.map((provider) => (
        <a key={provider.id} className={LINK} href={connection.client.auth.ssoStartUrl(provider.id, { returnTo: returnPath() })}>
          Sign in with {provider.displayName}
        </a>
      ))}
    </nav>
  );
}

/** The refusal the node sent the browser back with (`?sso_error=&sso_message=`), read once and removed from the address. */
export function takeSsoError(): { code: string; message: string } | null {
  if (typeof window === "undefined") return null;
  const params = new URLSearchParams(window.location.search);
  const code = params.get("sso_error");
  if (!code) return null;
  const message = params.get("sso_message") ?? "Single sign-on did not complete.";
  params.delete("sso_error");
  params.delete("sso_message");
  const rest = params.toString();
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${rest ? `?${rest}` : ""}${window.location.hash}`);
  return { code, message };
}
