/**
 * @module views/playground
 * The Playground page (placeholder until its view is built).
 */
import { Page } from "../../components/Page";

export default function PlaygroundPage() {
  return (
    <Page title="Playground">
      <p>Coming in this release.</p>
    </Page>
  );
}
