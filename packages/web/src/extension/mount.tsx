/**
 * @module extension/mount
 * Mounts an extension page (popup.html, sidepanel.html): styles, the stored theme, and the extension's root.
 * `popup.html?view=tab` is the whole app in a tab and `popup.html?view=options` the options page: the same
 * bundle as the popup, so the extension ships two entry pages (vite.config.ts).
 */
import { createRoot } from "react-dom/client";
import "../styles.css";
import { applyStoredTheme } from "../app/theme";
import { ExtensionRoot, type ExtensionPageKind } from "./ExtensionRoot";

export function mountExtensionPage(defaultKind: ExtensionPageKind): void {
  const view = new URLSearchParams(window.location.search).get("view");
  const kind: ExtensionPageKind = view === "tab" || view === "options" ? view : defaultKind;
  applyStoredTheme();
  const root = document.getElementById("root");
  if (root) createRoot(root).render(<ExtensionRoot kind={kind} />);
}
