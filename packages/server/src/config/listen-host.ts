/**
 * @module config/listen-host
 * Whether `server.host` keeps the node on this machine: the one rule that LAN discovery (no announcement of a node no
 * other machine can reach) and `kai doctor` (plain HTTP there is not exposed) both read.
 */

/** `localhost`, an IPv4 loopback address (`127.x.y.z`) or `::1`. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
