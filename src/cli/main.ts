#!/usr/bin/env node
// multi-networkpolicy-tc: the agent (default command) and its offline tools (show, render, explain).

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setVerbosity, getVerbosity, log } from '../util/log.js';
import { parsePluginList } from './plugin-list.js';
import { DEFAULT_TC_TIMEOUT_MS } from '../tc/apply/tc-timeout.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../tc/compile/options.js';
import type { L4Protocol } from '../policy/types.js';
import { UsageError } from './usage-error.js';
import { ClientConfigError } from '../cluster/kube/config-error.js';
import { StopSignals } from '../agent/stop-signals.js';

// Each command loads its modules when it runs (dynamic imports): the agent does not load the
// offline tools, and it starts its LISTs before it loads the policy model, the compiler and the
// apply layer (src/agent/early-kube-source.ts). Static imports here are the light ones only.

const SYSFS_ROOT_HELP =
  'read the representors and uplinks of the --hostname-override node from sysfs under <dir> (e.g. /)';

/** Error classes that mean a usage or path error (exit 2); a command adds those of what it loads. */
const usageErrors: (abstract new (...args: never[]) => Error)[] = [
  UsageError,
  InvalidArgumentError,
  ClientConfigError,
];

/** The manifests reader (and its path error, a usage error). */
async function manifestsReader() {
  const load = await import('./load.js');
  usageErrors.push(load.ManifestsPathError);
  return load;
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v.replace(/^=/, ''));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}-${max}`);
    return n;
  };
}

function protocolArg(v: string): L4Protocol {
  const p = v.toUpperCase();
  if (p === 'TCP' || p === 'UDP' || p === 'SCTP' || p === 'ICMP') return p;
  if (p === 'ICMPV6') return 'ICMPv6';
  throw new InvalidArgumentError('protocol must be TCP, UDP, SCTP, ICMP or ICMPv6');
}

function namespaceList(v: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ];
}

function familyArg(v: string): 4 | 6 {
  if (v === '4' || v === '6') return Number(v) as 4 | 6;
  throw new InvalidArgumentError('family must be 4 or 6');
}

interface Common {
  networkPlugins: string;
  acceptIcmp?: boolean;
  acceptIcmpv6?: boolean;
  ctZone?: number;
  offload?: 'auto' | 'require';
  v?: number;
}

function compileOptions(o: Common): CompileOptions {
  return {
    ctZone: o.ctZone ?? DEFAULT_COMPILE_OPTIONS.ctZone,
    acceptIcmp: o.acceptIcmp ?? false,
    acceptIcmpv6: o.acceptIcmpv6 ?? false,
    ...(o.offload === 'require' ? { offload: 'require' as const } : {}),
  };
}

/** Flags every command shares; kept compatible with upstream multi-networkpolicy-tc. */
function withCommon(c: Command): Command {
  return c
    .option('--network-plugins <types>', 'CNI plugin types to enforce, comma-separated', 'accelerated-bridge')
    .option('--accept-icmp', 'let every ICMP (IPv4) packet through, like the iptables/nftables peers', false)
    .option('--accept-icmpv6', 'let every ICMPv6 packet through (neighbour discovery always passes)', false)
    .option(
      '--ct-zone <zone>',
      'conntrack zone the pipeline uses',
      intArg('--ct-zone', 0, 65535),
      DEFAULT_COMPILE_OPTIONS.ctZone,
    )
    .addOption(
      new Option(
        '--offload <mode>',
        'auto: filters in software and hardware; require: skip_sw, a filter the NIC rejects fails its device',
      )
        .choices(['auto', 'require'])
        .default('auto'),
    )
    .option('-v, --v <level>', 'log verbosity (klog style)', intArg('-v', 0, 10), 0);
}

/** One line, exit 2 for usage and path errors, 1 otherwise; the stack trace only at -v 4 and up. */
function fail(e: unknown): never {
  const usage = usageErrors.some((c) => e instanceof c);
  const text = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error && getVerbosity() >= 4 ? e.stack : undefined;
  log.error(
    (stack ?? text)
      .split('\n')
      .filter(Boolean)
      .join(stack ? '\n' : '; '),
  );
  process.exit(usage ? 2 : 1);
}

// package.json sits three levels above build/src/cli (in the repository and in the image alike).
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// A reader that stops early (`render | head -c 600`) is not an error: exit quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  fail(e);
});

const program = new Command('multi-networkpolicy-tc')
  .description('MultiNetworkPolicy enforcement with TC flower on SR-IOV switchdev VF representors')
  .version(pkg.version)
  .showHelpAfterError()
  // Usage errors exit 2 (commander's message is already printed); --help and --version exit 0.
  .exitOverride((e: CommanderError) => process.exit(e.exitCode === 0 ? 0 : 2));

withCommon(
  program
    .command('run', { isDefault: true })
    .description(
      'run the node agent: watch the cluster (or a manifests directory) and program the representors',
    )
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster config)')
    .option('--master <url>', 'Kubernetes API server URL (overrides the kubeconfig)')
    .option('--hostname-override <name>', 'node name (default: the host name)')
    .option(
      '--pod-rules-path <dir>',
      'write each pod interface rules to <dir>/<pod uid>/<network>-<rep>.rules',
    )
    .option(
      '--manifests <dir>',
      'read the cluster state from a manifests directory instead of the API server',
    )
    .option('--once', 'reconcile once and exit (non-zero on failure)', false)
    .option('--tc <path>', 'tc binary', 'tc')
    .option(
      '--sysfs-root <dir>',
      'find representors and uplinks in sysfs under <dir> (default in cluster mode: /; with --manifests: the annotations)',
    )
    .option(
      '--tc-timeout <seconds>',
      'limit for each tc or ip process; one that runs longer is killed and its devices retried',
      intArg('--tc-timeout', 1, 3600),
      DEFAULT_TC_TIMEOUT_MS / 1000,
    )
    .addOption(
      new Option(
        '--device-source <source>',
        'where representors and uplinks come from (auto: sysfs in cluster mode or with --sysfs-root, the annotations with --manifests)',
      )
        .choices(['auto', 'sysfs', 'annotations'])
        .default('auto'),
    )
    .option(
      '--metrics-bind-address <[host]:port>',
      'serve /healthz, /readyz and /metrics here; 0 turns it off',
      ':9810',
    ),
).action(async (o) => {
  setVerbosity(o.v);
  // Before anything is loaded: a SIGTERM during the start stops the agent cleanly (exit 0).
  const stopSignals = o.once ? undefined : new StopSignals();
  try {
    const nodeName = (o.hostnameOverride ?? hostname()).toLowerCase();
    if (o.manifests) await (await manifestsReader()).checkManifestsDir(o.manifests);
    // The LISTs first: they run while the agent's other modules load.
    const kubeSource = o.manifests
      ? undefined
      : await (
          await import('../agent/early-kube-source.js')
        ).startEarlyKubeSource({ nodeName, kubeconfig: o.kubeconfig, master: o.master });
    const { runAgent } = await import('../agent/run-agent.js');
    const code = await runAgent({
      nodeName,
      manifests: o.manifests,
      kubeconfig: o.kubeconfig,
      master: o.master,
      podRulesPath: o.podRulesPath,
      once: o.once,
      tcBinary: o.tc,
      tcTimeoutMs: o.tcTimeout * 1000,
      networkPlugins: parsePluginList(o.networkPlugins),
      compile: compileOptions(o),
      ...(o.sysfsRoot !== undefined ? { sysfsRoot: o.sysfsRoot } : {}),
      deviceSource: o.deviceSource,
      metricsBindAddress: o.once ? '0' : o.metricsBindAddress,
      ...(kubeSource ? { kubeSource } : {}),
      ...(stopSignals ? { stopSignals } : {}),
    });
    // Open connections (a watch being torn down, a tc child) must not delay the exit.
    process.exit(code);
  } catch (e) {
    fail(e);
  }
});

withCommon(
  program
    .command('show')
    .description(
      'print each managed pod interface with its isolation and allowed peers (reference semantics)',
    )
    .requiredOption('--manifests <dir>', 'manifests directory')
    .option('--hostname-override <name>', 'the node --sysfs-root describes (default: the host name)')
    .option('--sysfs-root <dir>', SYSFS_ROOT_HELP),
).action(async (o) => {
  setVerbosity(o.v);
  try {
    const [{ loadModel }, { placeDevices }, { renderShow }] = await Promise.all([
      manifestsReader(),
      import('./placement.js'),
      import('./show.js'),
    ]);
    const plugins = parsePluginList(o.networkPlugins);
    const { snapshot, model } = await loadModel(o.manifests, plugins);
    const placed = placeDevices(snapshot, model, plugins, {
      sysfsRoot: o.sysfsRoot,
      node: (o.hostnameOverride ?? hostname()).toLowerCase(),
    });
    process.stdout.write(renderShow(placed.model, placed.unenforced));
  } catch (e) {
    fail(e);
  }
});

withCommon(
  program
    .command('render')
    .description('print the TC pipeline of one node, with filter counts per device')
    .requiredOption('--manifests <dir>', 'manifests directory')
    .option('--hostname-override <name>', 'node to render (default: the host name)')
    .option('--sysfs-root <dir>', SYSFS_ROOT_HELP)
    .addOption(new Option('--format <format>', 'output format').choices(['tc', 'json']).default('tc')),
).action(async (o) => {
  setVerbosity(o.v);
  try {
    const [{ loadModel }, { placeDevices }, { compileNode }, { writeRender }, { formatUnenforced }] =
      await Promise.all([
        manifestsReader(),
        import('./placement.js'),
        import('../tc/compile/node.js'),
        import('./render-output.js'),
        import('../node/device-map.js'),
      ]);
    const plugins = parsePluginList(o.networkPlugins);
    const loaded = await loadModel(o.manifests, plugins);
    const node = (o.hostnameOverride ?? hostname()).toLowerCase();
    const opts = compileOptions(o);
    const { snapshot, model, lookupFor } = placeDevices(loaded.snapshot, loaded.model, plugins, {
      sysfsRoot: o.sysfsRoot,
      node,
    });
    const pipeline = compileNode(model, node, snapshot.nodes.get(node), opts, lookupFor(node));
    for (const w of pipeline.warnings) log.warn(w);
    for (const u of pipeline.unenforced ?? []) log.error(formatUnenforced(u));
    await writeRender(process.stdout, pipeline, o.format, opts.ctZone);
  } catch (e) {
    fail(e);
  }
});

withCommon(
  program
    .command('explain')
    .description('the verdict of one flow (or the truth table of a network) and the filters that decide it')
    .requiredOption('--manifests <dir>', 'manifests directory')
    .option('--from <ns/pod|ip>', 'source pod or address')
    .option('--to <ns/pod|ip>', 'destination pod or address')
    .option('--matrix', 'print the truth table for every pair of pod interfaces on the network', false)
    .option(
      '--from-namespace <ns>',
      'with --matrix: rows only for pods of these namespaces (repeatable, or a comma list)',
      namespaceList,
    )
    .option(
      '--to-namespace <ns>',
      'with --matrix: columns only for pods of these namespaces (repeatable, or a comma list)',
      namespaceList,
    )
    .option('--protocol <protocol>', 'TCP, UDP, SCTP, ICMP or ICMPv6', protocolArg, 'TCP' as L4Protocol)
    .option('--port <port>', 'destination port', intArg('--port', 1, 65535))
    .option('--network <ns/nad>', 'network (needed when the endpoints share several)')
    .option('--family <4|6>', 'address family (default: the first the endpoints share)', familyArg)
    .option('--hostname-override <name>', 'the node --sysfs-root describes (default: the host name)')
    .option('--sysfs-root <dir>', SYSFS_ROOT_HELP)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text')),
).action(async (o) => {
  setVerbosity(o.v);
  try {
    const [{ loadModel }, { placeDevices }, { explainFlow, matrixRows }] = await Promise.all([
      manifestsReader(),
      import('./placement.js'),
      import('./explain.js'),
    ]);
    const plugins = parsePluginList(o.networkPlugins);
    const loaded = await loadModel(o.manifests, plugins, o.format === 'json');
    const { snapshot, model, unenforced } = placeDevices(loaded.snapshot, loaded.model, plugins, {
      sysfsRoot: o.sysfsRoot,
      node: (o.hostnameOverride ?? hostname()).toLowerCase(),
    });
    const opts = compileOptions(o);
    if (o.matrix) {
      const { plan, rows } = matrixRows(
        snapshot,
        model,
        opts,
        {
          protocol: o.protocol,
          port: o.port,
          network: o.network,
          family: o.family,
          fromNamespaces: o.fromNamespace,
          toNamespaces: o.toNamespace,
        },
        unenforced,
      );
      const [{ writePieces }, { matrixJsonPieces, matrixTextPieces }] = await Promise.all([
        import('./write-json.js'),
        import('./matrix-output.js'),
      ]);
      await writePieces(
        process.stdout,
        o.format === 'json' ? matrixJsonPieces(plan, rows) : matrixTextPieces(plan, rows),
      );
      return;
    }
    if (!o.from || !o.to) throw new UsageError('explain needs --from and --to (or --matrix)');
    const r = explainFlow(
      snapshot,
      model,
      opts,
      {
        from: o.from,
        to: o.to,
        protocol: o.protocol,
        port: o.port,
        network: o.network,
        family: o.family,
      },
      unenforced,
    );
    process.stdout.write(o.format === 'json' ? JSON.stringify(r.json, null, 2) + '\n' : r.text);
  } catch (e) {
    fail(e);
  }
});

program.parseAsync(process.argv).catch(fail);
