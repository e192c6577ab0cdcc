/**
 * @module artifacts/previews/image-thumbnail
 * Image facts and thumbnails with sharp (libvips, shipped as npm packages per platform: nothing is downloaded or
 * built at install). Only the PNG, JPEG, WebP and GIF loaders may run: every other libvips loader is blocked for the
 * whole process, so bytes that are really SVG, PDF, TIFF or anything else are refused by the decoder itself, whatever
 * the metadata claimed (SVG in particular is never rendered: it stays a text excerpt). The header's pixel count is
 * checked before anything is decoded (a small file can announce a huge image: a decompression bomb), animated images
 * give their first frame, and the thumbnail is WebP within a 256-pixel box, never enlarged. sharp is loaded on the
 * first image preview, not at start: a node whose platform sharp cannot load still starts and serves everything else.
 */
import type { Sharp, SharpOptions } from "sharp";
import { THUMBNAIL_MAX_SIDE } from "@kai/protocol";

/** Most pixels an image may have to be decoded for a thumbnail (about 40 megapixels, e.g. 8000 × 5000). */
export const MAX_INPUT_PIXELS = 40_000_000;
/** Largest image file read whole for a thumbnail. */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

/** The libvips loaders that may run (class names; libvips 8.18 reads GIF with nsgif). */
const ALLOWED_LOADERS = ["VipsForeignLoadPngBuffer", "VipsForeignLoadJpegBuffer", "VipsForeignLoadWebpBuffer", "VipsForeignLoadNsgifBuffer", "VipsForeignLoadGifBuffer"];

/**
 * Thumbnails decoded at once in this process: a page listing fifty new images asks for fifty thumbnails together, and
 * each decode may hold up to `MAX_INPUT_PIXELS` × 4 bytes; the rest wait their turn.
 */
const MAX_DECODES = 2;
let decoding = 0;
const queue: (() => void)[] = [];

async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  while (decoding >= MAX_DECODES) await new Promise<void>((resolve) => queue.push(resolve));
  decoding++;
  try {
    return await work();
  } finally {
    decoding--;
    queue.shift()?.();
  }
}

let loading: Promise<(input: Buffer, options: SharpOptions) => Sharp> | undefined;

/**
 * sharp, with every loader but the allowed ones blocked for the process (before it reads any byte). A platform sharp
 * cannot load on is an answer (`ImageRefused`, said to the caller), not the node's failure for every image.
 */
function imageLibrary(): Promise<(input: Buffer, options: SharpOptions) => Sharp> {
  loading ??= import("sharp").then(({ default: sharp }) => {
    sharp.block({ operation: ["VipsForeignLoad"] });
    sharp.unblock({ operation: ALLOWED_LOADERS });
    // No cache of decoded images between requests: each thumbnail is made once, then kept as a blob (thumbnail-cache.ts).
    sharp.cache(false);
    return (input: Buffer, options: SharpOptions) => sharp(input, options);
  });
  return loading.catch(() => {
    throw new ImageRefused("image previews are not available on this node (the image library, sharp, could not be loaded on this platform)");
  });
}

/** The content type each allowed loader's format is. */
const FORMAT_TYPES: Record<string, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp", gif: "image/gif" };

export interface ImageFacts {
  contentType: string;
  width: number;
  height: number;
}

/** Why an image gets no thumbnail: said to the caller as is. */
export class ImageRefused extends Error {}

/** The image's format and size from its header (`bytes` may be only the start of the file); null when unreadable. */
export async function imageFacts(bytes: Buffer): Promise<ImageFacts | null> {
  const sharp = await imageLibrary();
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    const contentType = FORMAT_TYPES[meta.format];
    if (!contentType || !meta.width || !meta.height) return null;
    // An animated image's metadata height may be that of all frames stacked; pageHeight is one frame's.
    return { contentType, width: meta.width, height: meta.pageHeight ?? meta.height };
  } catch {
    return null;
  }
}

/** A reason not to decode an image of this size, or null when it may be. */
export function pixelLimitReason(facts: ImageFacts): string | null {
  return facts.width * facts.height > MAX_INPUT_PIXELS
    ? `the image has ${facts.width} × ${facts.height} pixels, more than the ${MAX_INPUT_PIXELS.toLocaleString("en")} a thumbnail is made from`
    : null;
}

/** A WebP thumbnail of the whole image `bytes` (its first frame), within a `THUMBNAIL_MAX_SIDE` box. */
export async function makeThumbnail(bytes: Buffer, expectedType: string): Promise<Buffer> {
  const facts = await imageFacts(bytes);
  if (!facts) throw new ImageRefused("the file is not a readable PNG, JPEG, WebP or GIF image");
  if (facts.contentType !== expectedType) throw new ImageRefused(`the bytes are ${facts.contentType}, not ${expectedType}`);
  const tooLarge = pixelLimitReason(facts);
  if (tooLarge) throw new ImageRefused(tooLarge);
  const sharp = await imageLibrary();
  try {
    return await inTurn(() =>
      sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error", pages: 1 })
        .rotate() // as the EXIF orientation says, so a phone photo's thumbnail is upright
        .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: "inside", withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer(),
    );
  } catch {
    throw new ImageRefused("the image could not be decoded (it may be cut short or damaged)");
  }
}
