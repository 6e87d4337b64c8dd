/**
 * Which addresses a webhook may be sent to (SSRF): only global unicast. Refused: private (10/8,
 * 172.16/12, 192.168/16, fc00::/7), loopback (127/8, ::1), link-local (169.254/16, fe80::/10),
 * CGNAT (100.64/10), multicast (224/4, ff00::/8), unspecified (0.0.0.0/8, ::), reserved and
 * documentation ranges, and IPv4-mapped or -translated IPv6 forms of any of them.
 */
import { isIP } from 'node:net';

type Range = [base: bigint, bits: number, width: 32 | 128, why: string];

const v4 = (a: string): bigint => a.split('.').reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n);

function v6(address: string): bigint {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const n = v4(quad[1]!);
    text = `${text.slice(0, -quad[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(Number.parseInt(g || '0', 16)), 0n);
}

const V4_RANGES: Range[] = [
  [v4('0.0.0.0'), 8, 32, 'unspecified'],
  [v4('10.0.0.0'), 8, 32, 'private'],
  [v4('100.64.0.0'), 10, 32, 'carrier-grade NAT'],
  [v4('127.0.0.0'), 8, 32, 'loopback'],
  [v4('169.254.0.0'), 16, 32, 'link-local'],
  [v4('172.16.0.0'), 12, 32, 'private'],
  [v4('192.0.0.0'), 24, 32, 'reserved'],
  [v4('192.0.2.0'), 24, 32, 'documentation'],
  [v4('192.168.0.0'), 16, 32, 'private'],
  [v4('198.18.0.0'), 15, 32, 'benchmarking'],
  [v4('198.51.100.0'), 24, 32, 'documentation'],
  [v4('203.0.113.0'), 24, 32, 'documentation'],
  [v4('224.0.0.0'), 4, 32, 'multicast'],
  [v4('240.0.0.0'), 4, 32, 'reserved'],
];

const V6_RANGES: Range[] = [
  [0n, 128, 128, 'unspecified'],
  [1n, 128, 128, 'loopback'],
  [v6('fc00::'), 7, 128, 'unique-local'],
  [v6('fe80::'), 10, 128, 'link-local'],
  [v6('fec0::'), 10, 128, 'site-local'],
  [v6('ff00::'), 8, 128, 'multicast'],
  [v6('2001:db8::'), 32, 128, 'documentation'],
  [v6('100::'), 64, 128, 'discard'],
];

function inRange(n: bigint, [base, bits, width]: Range): boolean {
  const shift = BigInt(width - bits);
  return n >> shift === base >> shift;
}

/** Why an address may not be a webhook's destination, or null for a global unicast address. */
export function refusedAddressReason(address: string): string | null {
  const family = isIP(address);
  if (family === 4) return V4_RANGES.find((r) => inRange(v4(address), r))?.[3] ?? null;
  if (family !== 6) return 'not an IP address';
  const n = v6(address);
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96): judged as the IPv4 inside.
  const embedded =
    n >> 32n === 0xffffn || (n >> 32n === 0n && n > 1n) || n >> 32n === v6('64:ff9b::') >> 32n
      ? n & 0xffffffffn
      : undefined;
  if (embedded !== undefined) {
    const dotted = [24n, 16n, 8n, 0n].map((s) => String((embedded >> s) & 0xffn)).join('.');
    const why = refusedAddressReason(dotted);
    return why ? `${why} (IPv4 inside IPv6)` : null;
  }
  return V6_RANGES.find((r) => inRange(n, r))?.[3] ?? null;
}
