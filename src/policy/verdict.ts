// The reference semantics (test oracle): is a connection attempt allowed by the policy model?
//
// It judges connection attempts, i.e. the first packet from the initiator. Reply packets of an
// allowed connection are allowed too (NetworkPolicy is about connections); that is a property of
// the datapath (connection tracking), not something this function is asked about.

import { canonicalIp, containsIp, type IpAddress, parseAddress, parseCidr } from '../util/ip/index.js';
import { portSetContains, resolvePorts } from './ports.js';
import type {
  AddressBlock,
  DirectionVerdict,
  Flow,
  ManagedInterface,
  PolicyModel,
  ResolvedRule,
  Direction,
  RuleOrigin,
  Verdict,
} from './types.js';
import type { PodInfo } from '../cluster/snapshot.js';

/**
 * Inside the block's cidr and outside all of its excepts. An unreadable cidr contains nothing.
 * Parsed on every call, with no cache: the oracle reads the rules of two interfaces per flow.
 */
export function blockContains(block: AddressBlock, ip: IpAddress): boolean {
  const cidr = parseCidr(block.cidr);
  if (cidr === undefined || !containsIp(cidr, ip)) return false;
  return !block.except.some((e) => {
    const c = parseCidr(e);
    return c !== undefined && containsIp(c, ip);
  });
}

/** Whether one resolved rule allows traffic with the other endpoint at `peerIp`. */
export function ruleAllows(
  rule: ResolvedRule,
  peerIp: IpAddress | undefined,
  flow: Pick<Flow, 'protocol' | 'port'>,
  dstPod: PodInfo | undefined,
): boolean {
  const peerOk =
    rule.peers.kind === 'any' ||
    (peerIp !== undefined && rule.peers.blocks.some((b) => blockContains(b, peerIp)));
  return peerOk && portSetContains(resolvePorts(rule.ports, dstPod), flow.protocol, flow.port);
}

/**
 * One direction of one endpoint. `endpoint` is the managed interface whose policy is checked
 * (source for egress, destination for ingress), or undefined for an external address;
 * `peerIp` is the other endpoint's address; named ports resolve on `dstPod`.
 */
export function directionVerdict(
  endpoint: ManagedInterface | undefined,
  direction: Direction,
  peerIp: string,
  flow: Pick<Flow, 'protocol' | 'port'>,
  dstPod: PodInfo | undefined,
): DirectionVerdict {
  const policy = endpoint?.[direction];
  if (!policy || !policy.isolated) return { isolated: false, allowed: true, allowedBy: [] };
  const ip = parseAddress(peerIp);
  const allowedBy: RuleOrigin[] = policy.rules
    .filter((r) => ruleAllows(r, ip, flow, dstPod))
    .map((r) => r.origin);
  return { isolated: true, allowed: allowedBy.length > 0, allowedBy };
}

export function formatOrigin(o: RuleOrigin): string {
  return `${o.policy} ${o.direction}[${o.index}]`;
}

function describeTraffic(flow: Flow): string {
  return flow.port === undefined ? flow.protocol : `${flow.protocol}/${flow.port}`;
}

/** One sentence about one direction, for Verdict.reason and `explain` output. */
export function explainDirection(
  endpoint: ManagedInterface | undefined,
  endpointIp: string,
  direction: Direction,
  v: DirectionVerdict,
  flow: Flow,
  peerIp: string,
): string {
  if (!endpoint) {
    const role = direction === 'egress' ? 'source' : 'destination';
    return `${role} ${endpointIp} is not a managed interface on ${flow.network} (${direction} not isolated)`;
  }
  const who = `${direction} of ${endpoint.pod} (${endpoint.interface}) on ${flow.network}`;
  if (!v.isolated) return `${who} is not isolated`;
  const by = `[${endpoint[direction].policies.join(', ')}]`;
  if (v.allowed) return `${who} is allowed by ${v.allowedBy.map(formatOrigin).join(', ')}`;
  const toFrom = direction === 'egress' ? 'to' : 'from';
  return `${who} is isolated by ${by} and no rule allows ${describeTraffic(flow)} ${toFrom} ${peerIp}`;
}

/** Allowed iff the source's egress and the destination's ingress both allow the connection. */
export function verdict(model: PolicyModel, flow: Flow): Verdict {
  const srcIp = canonicalIp(flow.srcIp)?.ip ?? flow.srcIp;
  const dstIp = canonicalIp(flow.dstIp)?.ip ?? flow.dstIp;
  const onNetwork = model.byIp.get(flow.network);
  const src = onNetwork?.get(srcIp);
  const dst = onNetwork?.get(dstIp);
  // Named ports are the destination's container ports, whichever side's policy names them.
  const dstPod = dst?.podInfo;
  const egress = directionVerdict(src, 'egress', dstIp, flow, dstPod);
  const ingress = directionVerdict(dst, 'ingress', srcIp, flow, dstPod);
  const allowed = egress.allowed && ingress.allowed;
  const egressText = explainDirection(src, srcIp, 'egress', egress, flow, dstIp);
  const ingressText = explainDirection(dst, dstIp, 'ingress', ingress, flow, srcIp);
  let reason: string;
  if (allowed) reason = `allowed: ${egressText}; ${ingressText}`;
  else {
    const denials = [egress.allowed ? undefined : egressText, ingress.allowed ? undefined : ingressText];
    reason = `denied: ${denials.filter((d) => d !== undefined).join('; ')}`;
  }
  return { verdict: allowed ? 'allow' : 'deny', egress, ingress, reason };
}
