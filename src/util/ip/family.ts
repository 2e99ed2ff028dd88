// The two IP families, as the numbers everything else (tc's `protocol ip`/`ipv6`, Go, Node) uses.

export type Family = 4 | 6;

/** Address width in bits. */
export const ADDRESS_BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** An address as a number: 32 bits for IPv4, 128 for IPv6. */
export interface IpAddress {
  family: Family;
  value: bigint;
}
