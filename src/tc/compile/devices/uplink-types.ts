// What an uplink representor's pipeline is compiled from and what its build keeps for the next
// build of the same uplink.

import type { AddressMapState } from '../chains/address-map.js';
import type { ChainFragment } from '../chains/chain-set.js';
import type { IngressPart } from '../decisions/ingress-part.js';
import type { CompileOptions } from '../options.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import type { ManagedInterface } from '../../../policy/types.js';
import type { Family } from '../../../util/ip/index.js';

export interface UplinkDeviceInput {
  kind: 'uplink';
  device: string;
  /** Managed interfaces of this node behind this uplink, on networks that need filtering. */
  interfaces: ManagedInterface[];
  /** What this compile remembers about model objects (owned by the caller, see reuse/compile-memo.ts). */
  memo: CompileMemo;
}

/** What an uplink's chains are built from; equal `deps` mean equal chains (see PreparedVf). */
export interface PreparedUplink {
  input: UplinkDeviceInput;
  /** Source chain per isolated pod interface and family. */
  sources: Map<ManagedInterface, Partial<Record<Family, IngressPart>>>;
  deps: unknown[];
  /** What the uplink's last build kept for reuse, and where to keep this build's. */
  parts: {
    previous?: UplinkParts;
    save?: (parts: UplinkParts) => void;
  };
}

/** Parts of an uplink's chains that its next build reuses (see VfParts). */
export interface UplinkParts {
  /** The classify chain, and the addresses behind the uplink and options it was written for. */
  classify: { ips: (readonly string[])[]; opts: CompileOptions; fragment: ChainFragment };
  /** The address maps of chain +2 per family (their unchanged blocks are reused). */
  maps: Partial<Record<Family, AddressMapState>>;
}
