/**
 * @module cluster/limits/address-key
 * The key a client address is counted under by the per-address limits (the `global` and `auth` tiers, the sign-in
 * throttle): an IPv4 address as it is, an IPv6 address by its /64 prefix. One IPv6 host commonly owns a whole /64
 * (privacy addresses rotate inside it), so counting single IPv6 addresses would give one client 2^64 fresh budgets.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) counts as the IPv4 address.
 */

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const DOTTED_TAIL = /\d+\.\d+\.\d+\.\d+$/;

export function addressKey(address: string): string {
  if (!address.includes(":")) return address;
  const withoutZone = address.split("%")[0]!;
  const mapped = MAPPED_IPV4.exec(withoutZone);
  if (mapped) return mapped[1]!;
  const groups = expandIpv6(withoutZone);
  // Not an address we can read (should not happen: it comes from the socket): count it as it is.
  if (!groups) return address.toLowerCase();
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The eight groups of an IPv6 address, each in lower-case hex without leading zeros; undefined when malformed. */
function expandIpv6(address: string): string[] | undefined {
  // A dotted IPv4 tail stands for the last two groups.
  const text = DOTTED_TAIL.test(address) ? address.replace(DOTTED_TAIL, "0:0") : address;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
