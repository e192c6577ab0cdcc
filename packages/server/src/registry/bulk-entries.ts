/**
 * @module registry/bulk-entries
 * The parts of a bulk request that concern the batch rather than one record: ids named twice, and errors that say
 * which entry they are about. A bulk registration (`POST /api/services/bulk`, list `services`) and a bulk
 * deregistration (`POST /api/services/bulk-delete`, list `ids`) are refused as a whole, so the caller must learn
 * which entry to fix: every refusal of an entry carries `<list>.<index>` (the request body's field path).
 */
import { ApiError } from "../errors.js";

/** Which list of the request body a batch's entries are: registrations (`services`, each id at `.id`), or bare `ids`. */
export type BatchList = "services" | "ids";

/** The field path of entry `index`'s id in the request body, without `body.`. */
function idPath(list: BatchList, index: number): string {
  return list === "services" ? `services.${index}.id` : `ids.${index}`;
}

/** A batch that names an id twice is refused: which of the two writes would win is not the caller's to guess. */
export function refuseRepeatedIds(ids: readonly string[], list: BatchList = "services"): void {
  const first = new Map<string, number>();
  const repeats: Array<{ path: string; message: string }> = [];
  ids.forEach((id, index) => {
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, index);
    else repeats.push({ path: `body.${idPath(list, index)}`, message: `repeats ${idPath(list, earlier)} (${id}); a batch may name each service once` });
  });
  if (repeats.length > 0) throw new ApiError("validation_failed", "a batch names a service id more than once; nothing was written", repeats);
}

/** Runs a check of entry `index` and names the entry in the `ApiError` it throws (same code, status and details). */
export function atEntry<T>(index: number, id: string, check: () => T, list: BatchList = "services"): T {
  try {
    return check();
  } catch (error) {
    throw entryError(list, index, id, error);
  }
}

/** `atEntry` for an asynchronous step (moving a credential into the vault). */
export async function atEntryAsync<T>(index: number, id: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw entryError("services", index, id, error);
  }
}

function entryError(list: BatchList, index: number, id: string, error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  return new ApiError(error.code, `${list}.${index} (${id}): ${error.message}; nothing was written`, error.details, error.headers);
}
