// `ports` of one rule: validation into PortEntry values.
// Fail closed: an invalid entry allows nothing, and a list whose entries are all invalid allows
// nothing. Upstream skipped invalid entries and, when none remained, allowed every port.

import type { Problem } from '../cluster/problem.js';
import { listOfPorts } from './ports.js';
import { isRecord, type ProblemScope, scopedProblem, show } from './problem-scope.js';
import { type PortEntry, type PortsSpec, PROTOCOLS } from './types.js';

/** IANA_SVC_NAME: 1-15 of [a-z0-9-], at least one letter, no leading, trailing or double '-'. */
export function portNameError(name: string): string | undefined {
  if (name.length < 1 || name.length > 15) return `named port ${show(name)} must be 1-15 characters`;
  if (!/^[a-z0-9-]+$/.test(name)) return `named port ${show(name)} may only contain a-z, 0-9 and '-'`;
  if (!/[a-z]/.test(name))
    return `named port ${show(name)} must contain a letter (a number must not be quoted)`;
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) {
    return `named port ${show(name)} must not begin or end with '-' or contain '--'`;
  }
  return undefined;
}

function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/** Normalises one `ports[i]` entry; undefined when invalid (problems say why). */
function normalizePortEntry(raw: unknown, scope: ProblemScope, problems: Problem[]): PortEntry | undefined {
  if (!isRecord(raw)) {
    problems.push(scopedProblem(scope, '', `port entry must be an object, got ${show(raw)}`));
    return undefined;
  }
  const rawProtocol = raw.protocol ?? 'TCP';
  // Kubernetes protocols are case-sensitive: "tcp" is rejected, not guessed.
  const protocol = PROTOCOLS.find((p) => p === rawProtocol);
  if (!protocol) {
    problems.push(
      scopedProblem(scope, 'protocol', `unsupported protocol ${show(rawProtocol)} (TCP, UDP, SCTP)`),
    );
  }
  const port = raw.port ?? undefined;
  const endPort = raw.endPort ?? undefined;
  const before = problems.length;
  let entry: PortEntry | undefined;
  if (port === undefined) {
    if (endPort !== undefined)
      problems.push(scopedProblem(scope, 'endPort', 'endPort requires a numeric port'));
    entry = { kind: 'protocol', protocol: protocol ?? 'TCP' };
  } else if (typeof port === 'number') {
    if (!isPortNumber(port)) {
      problems.push(scopedProblem(scope, 'port', `port ${show(port)} must be an integer from 1 to 65535`));
    } else if (endPort === undefined) {
      entry = { kind: 'range', protocol: protocol ?? 'TCP', port, endPort: port };
    } else if (!isPortNumber(endPort)) {
      problems.push(
        scopedProblem(scope, 'endPort', `endPort ${show(endPort)} must be an integer from 1 to 65535`),
      );
    } else if (endPort < port) {
      problems.push(scopedProblem(scope, 'endPort', `endPort ${endPort} is less than port ${port}`));
    } else {
      entry = { kind: 'range', protocol: protocol ?? 'TCP', port, endPort };
    }
  } else if (typeof port === 'string') {
    const err = portNameError(port);
    if (err) problems.push(scopedProblem(scope, 'port', err));
    if (endPort !== undefined) {
      problems.push(scopedProblem(scope, 'endPort', 'endPort is only allowed with a numeric port'));
    }
    entry = { kind: 'named', protocol: protocol ?? 'TCP', name: port };
  } else {
    problems.push(scopedProblem(scope, 'port', `port must be a number or a name, got ${show(port)}`));
  }
  if (!protocol || problems.length > before) return undefined;
  return entry;
}

/**
 * Normalises `ports` of a rule. Absent, null or [] means every port and protocol.
 * `scope.path` is the rule's path (e.g. "spec.ingress[0]").
 */
export function normalizePorts(raw: unknown, scope: ProblemScope, problems: Problem[]): PortsSpec {
  if (raw === undefined || raw === null) return { kind: 'all' };
  const ruleScope = { ...scope, effect: 'this rule allows nothing' };
  if (!Array.isArray(raw)) {
    problems.push(scopedProblem(ruleScope, 'ports', `must be a list, got ${show(raw)}`));
    return listOfPorts([]);
  }
  if (raw.length === 0) return { kind: 'all' };
  const entries: PortEntry[] = [];
  raw.forEach((item: unknown, i) => {
    const entryScope = {
      ...scope,
      path: `${scope.path}.ports[${i}]`,
      effect: 'this port entry allows nothing',
    };
    const entry = normalizePortEntry(item, entryScope, problems);
    if (entry) entries.push(entry);
  });
  if (entries.length === 0) {
    problems.push(scopedProblem(ruleScope, 'ports', 'no port entry is valid'));
  }
  return listOfPorts(entries);
}
