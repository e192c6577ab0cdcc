/**
 * Who receives which bus event (bus/event-access.ts): the one rule every event stream applies.
 */
import { describe, expect, it } from "vitest";
import type { BusEvent } from "@kai/protocol";
import { mayReceive } from "./event-access.js";
import { ADMINS_AUDIENCE } from "./publishers/system-event.js";

const event = (extra: Partial<BusEvent>): BusEvent => ({ id: "e1", type: "USER_NOTIFICATION", payload: {}, timestamp: new Date(0).toISOString(), ...extra });
const alice = { owner: "alice", admin: false };
const admin = { owner: "root", admin: true };

describe("mayReceive", () => {
  it("sends an owned event to its owner and admins only", () => {
    const owned = { event: event({ owner: "alice" }) };
    expect(mayReceive(alice, owned)).toBe(true);
    expect(mayReceive({ owner: "bob", admin: false }, owned)).toBe(false);
    expect(mayReceive(admin, owned)).toBe(true);
  });

  it("sends the admins' audience to admins only, even to an account named like it", () => {
    const forAdmins = { event: event({ owner: ADMINS_AUDIENCE }) };
    expect(mayReceive(admin, forAdmins)).toBe(true);
    expect(mayReceive({ owner: ADMINS_AUDIENCE, admin: false }, forAdmins)).toBe(false);
  });

  it("keeps a task event without an owner from everyone but admins", () => {
    const orphan = { event: event({ type: "TASK_PROGRESS", taskId: "task_1" }) };
    expect(mayReceive(alice, orphan)).toBe(false);
    expect(mayReceive(admin, orphan)).toBe(true);
  });
});
