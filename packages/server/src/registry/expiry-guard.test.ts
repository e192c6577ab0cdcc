// The mass-expiry guard's arithmetic: budget per window, engagement, release on recovery and after maxHold.
import { describe, expect, it } from "vitest";
import { ExpiryGuard } from "./expiry-guard.js";

const options = { enabled: true, threshold: 0.15, minCount: 2, windowMs: 60_000, maxHoldMs: 30_000 };

describe("ExpiryGuard", () => {
  it("lets ordinary expiries through", () => {
    const guard = new ExpiryGuard(options);
    expect(guard.admit(1, 100, 1_000)).toEqual({ allowed: 1, transition: null });
    expect(guard.admit(10, 99, 2_000)).toEqual({ allowed: 10, transition: null });
    expect(guard.state.engaged).toBe(false);
  });

  it("engages past the share of the registry, letting only the budget go", () => {
    const guard = new ExpiryGuard(options);
    const first = guard.admit(40, 100, 1_000);
    expect(first).toEqual({ allowed: 15, transition: "engaged" });
    expect(guard.state).toMatchObject({ engaged: true, since: 1_000, heldBack: 25 });
    expect(guard.admit(25, 85, 2_000)).toEqual({ allowed: 0, transition: null });
  });

  it("counts expiries across sweeps of one window", () => {
    const guard = new ExpiryGuard(options);
    expect(guard.admit(10, 100, 1_000).allowed).toBe(10);
    expect(guard.admit(10, 90, 2_000)).toEqual({ allowed: 5, transition: "engaged" });
  });

  it("always allows minCount, however small the registry", () => {
    const guard = new ExpiryGuard(options);
    expect(guard.admit(2, 3, 1_000)).toEqual({ allowed: 2, transition: null });
  });

  it("releases when the held services recover", () => {
    const guard = new ExpiryGuard(options);
    guard.admit(40, 100, 1_000);
    expect(guard.admit(0, 85, 5_000)).toEqual({ allowed: 0, transition: "released_recovered" });
    expect(guard.state.engaged).toBe(false);
  });

  it("never holds longer than maxHold (unlike Eureka's self-preservation)", () => {
    const guard = new ExpiryGuard(options);
    guard.admit(40, 100, 1_000);
    expect(guard.admit(25, 85, 20_000).allowed).toBe(0);
    expect(guard.admit(25, 85, 31_000)).toEqual({ allowed: 25, transition: "released_timeout" });
    expect(guard.state.engaged).toBe(false);
  });

  it("does nothing when disabled", () => {
    const guard = new ExpiryGuard({ ...options, enabled: false });
    expect(guard.admit(100, 100, 1_000)).toEqual({ allowed: 100, transition: null });
  });
});
