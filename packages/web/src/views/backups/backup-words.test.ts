/**
 * The titles of a failed take or verify, by the API's stable code: each way it can fail reads as what to do about it.
 */
import { describe, expect, it } from "vitest";
import { KaiApiError } from "@kai/sdk";
import { backupErrorTitle, vaultUnsealWords } from "./backup-words";

const failure = (status: number, code: string) => new KaiApiError({ status, code, message: "the node's message" });

describe("backupErrorTitle", () => {
  it("names each way a backup call fails", () => {
    expect(backupErrorTitle(failure(422, "backup_passphrase_wrong"), "Could not verify")).toBe("The passphrase does not open this backup");
    expect(backupErrorTitle(failure(422, "backup_corrupt"), "Could not verify")).toBe("This backup is damaged: it is not a backup, cut short or changed");
    expect(backupErrorTitle(failure(507, "backup_failed"), "Could not take a backup")).toBe("Could not take a backup: the node cannot write to its backup directory");
    expect(backupErrorTitle(failure(409, "conflict"), "Could not take a backup")).toBe("Could not take a backup: the node cannot do it now");
    expect(backupErrorTitle(failure(500, "internal"), "Could not take a backup")).toBe("Could not take a backup");
    expect(backupErrorTitle(new Error("network"), "Could not take a backup")).toBe("Could not take a backup");
  });
});

describe("vaultUnsealWords", () => {
  it("names what opens the restored vault, and says when a backup did not record it", () => {
    expect(vaultUnsealWords("key-file")).toBe("the node's vault.key (not in the backup)");
    expect(vaultUnsealWords("passphrase")).toBe("the vault passphrase");
    expect(vaultUnsealWords(undefined)).toBe("not recorded");
  });
});
