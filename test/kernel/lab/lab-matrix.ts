// `make lab-matrix`: inside the lab, build the manifests' network, run the agent once on every
// node, probe every ordered pair of pods with real packets, and print the observed truth table
// in the JSON shape of `explain --matrix --format json`.
//
//   node build/test/kernel/lab/lab-matrix.js DIR PROTOCOLS PORTS [NETWORKS]
//
// PROTOCOLS, PORTS and NETWORKS are comma-separated lists: every combination is probed in the same
// boot (the topology and the agents' rules are set up once). One combination prints one JSON
// object, several print a JSON array of them (network, then protocol, then port order). The time
// of each phase goes to stderr.

import { buildTopology } from './topology.js';
import { applyAll, loadModel, observeMatrix } from './observe.js';
import { startServers, type ProbeProtocol } from './probe.js';
import { assertLab } from './shell.js';

const list = (arg: string) =>
  arg
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

async function main(): Promise<void> {
  const [dir, protocolArg, portArg, networkArg] = process.argv.slice(2);
  if (!dir || !protocolArg || !portArg) {
    throw new Error('usage: lab-matrix.js DIR PROTOCOLS PORTS [NETWORKS] (comma-separated lists)');
  }
  const protocols = list(protocolArg).map((p) => p.toUpperCase() as ProbeProtocol);
  for (const p of protocols)
    if (!['TCP', 'UDP', 'SCTP'].includes(p)) throw new Error(`PROTOCOL must be TCP, UDP or SCTP, not ${p}`);
  const ports = list(portArg).map(Number);
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad PORT ${p}`);
  const t0 = Date.now();
  let last = t0;
  const step = (what: string) => {
    const now = Date.now();
    const s = (ms: number) => (ms / 1000).toFixed(1);
    process.stderr.write(`lab-matrix: ${what}: ${s(now - last)} s (total ${s(now - t0)} s)\n`);
    last = now;
  };
  await assertLab();
  const { snapshot, model } = await loadModel(dir);
  const all = [...new Set(model.interfaces.map((i) => i.network))].sort();
  const networks = networkArg ? list(networkArg) : all.length === 1 ? all : [];
  if (networks.length === 0) throw new Error(`several networks (${all.join(', ')}): pass NETWORK`);
  for (const n of networks) if (!all.includes(n)) throw new Error(`no managed interface on network ${n}`);
  step('lab checked, manifests read');
  const topo = await buildTopology(snapshot, model);
  step('topology built');
  try {
    await applyAll(dir, topo);
    step('agent ran on every node');
    await startServers([...topo.podNs.values()], protocols, ports);
    step('servers started');
    const out: unknown[] = [];
    for (const network of networks) {
      for (const protocol of protocols) {
        for (const port of ports) {
          const matrix = await observeMatrix(model, topo, network, protocol, port);
          step(`probes ${network} ${protocol}/${port}`);
          out.push({ network, protocol, port, matrix });
        }
      }
    }
    process.stdout.write(JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
  } finally {
    await topo.teardown();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`lab-matrix: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
