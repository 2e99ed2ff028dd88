// `make lab-matrix`: inside the lab, build the manifests' network, run the agent once on every
// node, probe every ordered pair of pods with real packets, and print the observed truth table
// in the JSON shape of `explain --matrix --format json`.
//
//   node build/test/kernel/lab/lab-matrix.js DIR PROTOCOL PORT [NETWORK]

import { buildTopology } from './topology.js';
import { applyAll, loadModel, observeMatrix } from './observe.js';
import { startServers, type ProbeProtocol } from './probe.js';
import { assertLab } from './shell.js';

async function main(): Promise<void> {
  const [dir, protocolArg, portArg, networkArg] = process.argv.slice(2);
  if (!dir || !protocolArg || !portArg) {
    throw new Error('usage: lab-matrix.js DIR PROTOCOL PORT [NETWORK]');
  }
  const protocol = protocolArg.toUpperCase() as ProbeProtocol;
  if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) throw new Error('PROTOCOL must be TCP, UDP or SCTP');
  const port = Number(portArg);
  await assertLab();
  const { snapshot, model } = await loadModel(dir);
  const networks = [...new Set(model.interfaces.map((i) => i.network))].sort();
  const network = networkArg || (networks.length === 1 ? networks[0] : undefined);
  if (!network) throw new Error(`several networks (${networks.join(', ')}): pass NETWORK`);
  const t0 = Date.now();
  const step = (what: string) =>
    process.stderr.write(`lab-matrix: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  const topo = await buildTopology(snapshot, model);
  step('topology built');
  try {
    await applyAll(dir, topo);
    step('agent ran on every node');
    await startServers([...topo.podNs.values()], [protocol], [port]);
    step('servers started');
    const matrix = await observeMatrix(model, topo, network, protocol, port);
    step('probes done');
    process.stdout.write(JSON.stringify({ network, protocol, port, matrix }, null, 2) + '\n');
  } finally {
    await topo.teardown();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`lab-matrix: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
