// The mass-expiry guard's budget (registry/expiry-guard.ts) is a share of the window's population: the live leases plus
// those already expired in the window. A wave of 20 at 15 % lets 3 go whether the sweeps see them expire together or
// one by one (once one is offline, 19 live × 15 % alone would be 2: the wave stopped at 2, which CI caught under load).
import { describe, expect, it } from "vitest";
import { ExpiryGuard } from "../../src/registry/expiry-guard.js";

const options = { enabled: true, threshold: 0.15, minCount: 2, windowMs: 60_000, maxHoldMs: 8_000 };

describe("the mass-expiry guard", () => {
  it("lets the same share of a wave go whether its expiries come in one sweep or several", () => {
    const together = new ExpiryGuard(options);
    expect(together.admit(0, 0, 0).allowed).toBe(0);
    expect(together.admit(20, 20, 1_000)).toMatchObject({ allowed: 3, transition: "engaged" });
    expect(together.state.heldBack).toBe(17);

    const apart = new ExpiryGuard(options);
    expect(apart.admit(0, 0, 0).allowed).toBe(0);
    expect(apart.admit(1, 20, 1_000)).toEqual({ allowed: 1, transition: null });
    // The first is offline now (19 live): two more may go, not one.
    expect(apart.admit(2, 19, 2_000)).toEqual({ allowed: 2, transition: null });
    expect(apart.admit(17, 17, 3_000)).toMatchObject({ allowed: 0, transition: "engaged" });
    expect(apart.state.heldBack).toBe(17);
  });

  it("releases after maxHold or when nothing is overdue any more", () => {
    const guard = new ExpiryGuard(options);
    guard.admit(20, 20, 0);
    expect(guard.admit(17, 17, 7_999)).toEqual({ allowed: 0, transition: null });
    expect(guard.admit(17, 17, 8_000)).toEqual({ allowed: 17, transition: "released_timeout" });
    const recovered = new ExpiryGuard(options);
    recovered.admit(20, 20, 0);
    expect(recovered.admit(0, 20, 1_000)).toEqual({ allowed: 0, transition: "released_recovered" });
    expect(recovered.state).toMatchObject({ engaged: false, heldBack: 0 });
  });
});
