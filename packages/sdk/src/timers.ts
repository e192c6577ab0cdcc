/**
 * @module timers
 * Timer helpers that work in Node and browsers alike.
 */

/**
 * Lets Node exit while only this timer is left (heartbeats and pings should not keep a program alive on
 * their own). Browsers return a number from `setInterval`, which has nothing to unref.
 */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") timer.unref();
}
