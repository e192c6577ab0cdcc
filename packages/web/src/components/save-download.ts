/**
 * @module components/save-download
 * Saves bytes the app fetched as a file on the person's machine. Why not a plain link: the node's downloads need the
 * session's credentials (a bearer token the browser does not send by itself), so the page fetches them through the
 * SDK and hands the browser the result.
 */

/** Hands `body` to the browser as a download named `fileName`. */
export async function saveDownload(body: ReadableStream<Uint8Array>, fileName: string): Promise<void> {
  const blob = await new Response(body).blob();
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName;
    link.click();
  } finally {
    // The click has started the download; the object URL is not needed after this turn.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
