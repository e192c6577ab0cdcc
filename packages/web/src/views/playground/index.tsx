/**
 * @module views/playground
 * The Playground: try any model or service through the gateway — chat (streaming, stop), embeddings and image
 * generation — and see which service answered and what the gateway added. Each mode has its own address
 * (`/playground`, `/playground/embeddings`, `/playground/images`), so a mode can be linked and reloaded.
 */
import { NavLink, Route, Routes } from "react-router";
import { Page } from "../../components/Page";
import { ChatPanel } from "./ChatPanel";
import { EmbeddingsPanel } from "./EmbeddingsPanel";
import { ImagesPanel } from "./ImagesPanel";

const MODES = [
  { to: "/playground", label: "Chat", end: true },
  { to: "/playground/embeddings", label: "Embeddings", end: false },
  { to: "/playground/images", label: "Images", end: false },
];

export default function PlaygroundPage() {
  return (
    <Page title="Playground">
      <nav aria-label="Playground modes">
        <ul className="flex gap-1 border-b border-slate-200 dark:border-slate-700">
          {MODES.map((mode) => (
            <li key={mode.to}>
              <NavLink
                to={mode.to}
                end={mode.end}
                className={({ isActive }) =>
                  `inline-block rounded-t-md px-3 py-1.5 text-sm font-medium ${isActive ? "border-b-2 border-sky-700 text-sky-800 dark:border-sky-400 dark:text-sky-300" : "text-slate-700 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white"}`
                }
              >
                {mode.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Routes>
        <Route index element={<ChatPanel />} />
        <Route path="embeddings" element={<EmbeddingsPanel />} />
        <Route path="images" element={<ImagesPanel />} />
      </Routes>
    </Page>
  );
}
