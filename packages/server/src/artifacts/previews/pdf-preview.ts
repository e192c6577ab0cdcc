/**
 * @module artifacts/previews/pdf-preview
 * A PDF's page count and title (pdf-lib, pure JavaScript: nothing native parses an uploaded PDF). The caller bounds
 * the bytes; a file that does not parse, or parses into something without pages, is reported as unreadable with the
 * parser's reason, never thrown as the node's fault. Encrypted PDFs are opened only as far as their page tree, which
 * encryption leaves readable; their title (encrypted with the strings) is not shown.
 */
import { PDFDocument } from "pdf-lib";

export type PdfFacts = { ok: true; pages: number; title: string | null; encrypted: boolean } | { ok: false; reason: string };

/** Longest title passed on (a PDF can carry anything in its metadata). */
const MAX_TITLE = 500;

export async function pdfFacts(bytes: Uint8Array): Promise<PdfFacts> {
  try {
    const document = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true, throwOnInvalidObject: true });
    const pages = document.getPageCount();
    const encrypted = document.isEncrypted;
    const title = encrypted ? undefined : document.getTitle();
    // eslint-disable-next-line no-control-regex
    const clean = title?.replace(/[\u0000-\u001f\u007f]/g, " ").trim().slice(0, MAX_TITLE);
    return { ok: true, pages, title: clean ? clean : null, encrypted };
  } catch (error) {
    // The parser's own words, shortened: they say what is wrong (an invalid object, a missing page tree).
    // eslint-disable-next-line no-control-regex
    const detail = error instanceof Error ? error.message.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, 200).trim() : undefined;
    return { ok: false, reason: `this PDF could not be read${detail ? `: ${detail}` : ""}` };
  }
}
