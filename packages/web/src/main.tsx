/**
 * @module main
 * The entry of the web app served by the node at `/` (and of the extension's full tab): mounts the app,
 * talking to the node it was loaded from, with a cookie session.
 */
import { createRoot } from "react-dom/client";
import "./styles.css";
import { App } from "./app/App";
import { sameOriginConnection } from "./api/connection";
import { applyStoredTheme } from "./app/theme";
import { preloadViewFor } from "./app/views";

applyStoredTheme();
preloadViewFor(window.location.pathname);
const root = document.getElementById("root");
if (root) createRoot(root).render(<App connection={sameOriginConnection()} />);
