/**
 * @module components/size-words
 * Byte counts as people read them (`1.5 MB`), shared by the pages that show file sizes (artifacts, backups). A module
 * of its own so that a lazily loaded page does not pull in another page's code for it.
 */

const UNITS = ["bytes", "KB", "MB", "GB", "TB"];

/** `1.5 MB`: powers of 1,000, as disks and browsers count. */
export function sizeWords(size: number): string {
  let value = size;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${size} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}
