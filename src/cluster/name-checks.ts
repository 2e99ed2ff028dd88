// Syntax checks for the identifiers that cluster objects carry: Kubernetes names, kernel
// netdev names, PCI addresses and MAC addresses.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
// Ethernet (6 octets) and InfiniBand (20 octets) hardware addresses.
const MAC_ADDRESS = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$|^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/;

/** A DNS-1123 label: what namespace and NAD names must be. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** A name the kernel accepts for a netdev (dev_valid_name): 1-15 bytes, no '/', ':' or whitespace. */
export function isNetdevName(s: string): boolean {
  return s.length > 0 && s.length < 16 && s !== '.' && s !== '..' && !/[/:\s]/.test(s);
}

/** Lower-case PCI address ("0000:03:00.4"), or undefined if it is not one. */
export function canonicalPciAddress(s: string): string | undefined {
  const lower = s.toLowerCase();
  return PCI_ADDRESS.test(lower) ? lower : undefined;
}

/** Lower-case colon-separated MAC address, or undefined if it is not one. */
export function canonicalMac(s: string): string | undefined {
  const lower = s.toLowerCase().replace(/-/g, ':');
  return MAC_ADDRESS.test(lower) ? lower : undefined;
}
