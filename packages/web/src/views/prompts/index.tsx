/**
 * @module views/prompts
 * The prompt manager (issue 17): at `/prompts` the prompts the session may read (search, tags, new prompt); a
 * prompt's page at `/prompts/:name` (versions, labels, render, diff, restore), loaded only when someone opens one.
 */
import { lazy } from "react";
import { Route, Routes } from "react-router";
import { Page } from "../../components/Page";
import { PromptsList } from "./PromptsList";

const PromptPage = lazy(() => import("./PromptPage"));

export default function PromptsArea() {
  return (
    <Routes>
      <Route
        index
        element={
          <Page title="Prompts">
            <PromptsList />
          </Page>
        }
      />
      <Route path=":name" element={<PromptPage />} />
    </Routes>
  );
}
