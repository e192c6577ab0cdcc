/**
 * @module views/artifacts
 * The artifact manager (issue 17) at `/artifacts`: the session's artifacts (search by name, tag, type), upload,
 * download, share links and delete.
 */
import { Page } from "../../components/Page";
import { ArtifactsPanel } from "./ArtifactsPanel";

export default function ArtifactsArea() {
  return (
    <Page title="Artifacts">
      <ArtifactsPanel />
    </Page>
  );
}
