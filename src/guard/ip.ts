import ipaddr from 'ipaddr.js';

/**
 * The unit an IP limit counts: the address itself for IPv4, the /64 for IPv6 (one customer's
 * allocation; counting single IPv6 addresses would let an attacker rotate through 2^64 of them).
 * IPv4-mapped IPv6 addresses count as IPv4.
 */
export function ipUnit(ip: string): string {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return `invalid:${ip.slice(0, 64)}`;
  }
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4);
  return `${parts.join(':')}::/64`;
}

/** An IP or CIDR as the operator typed it, normalised; undefined when invalid. */
export function parseCidr(text: string): string | undefined {
  const value = text.trim();
  try {
    if (value.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(value);
      const network = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(value) : ipaddr.IPv6.networkAddressFromCIDR(value);
      return `${network.toString()}/${bits}`;
    }
    return ipaddr.process(value).toString();
  } catch {
    return undefined;
  }
}

export function ipInCidr(ip: string, cidr: string): boolean {
  try {
    const addr = ipaddr.process(ip);
    if (!cidr.includes('/')) return addr.toString() === ipaddr.process(cidr).toString();
    const range = ipaddr.parseCIDR(cidr);
    return addr.kind() === range[0].kind() && addr.match(range);
  } catch {
    return false;
  }
}
