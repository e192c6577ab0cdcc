/**
 * @module views/memory
 * Semantic memory (issue 17) at `/memory`: search by meaning with filters, add, delete.
 */
import { Page } from "../../components/Page";
import { MemoryPanel } from "./MemoryPanel";

export default function MemoryArea() {
  return (
    <Page title="Memory">
      <MemoryPanel />
    </Page>
  );
}
