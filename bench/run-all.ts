// `make bench`: the host-only benchmarks (filter count, compile time), then how to run the kernel
// one. They print figures and never fail on a missed target.

import { runCompileTime } from './compile-time.js';
import { runFilterCount } from './filter-count.js';

const started = new Date();
console.log(`multi-networkpolicy-tc benchmarks, ${started.toISOString()}, node ${process.version}\n`);
await runFilterCount();
console.log('');
runCompileTime();
console.log(
  '\n== apply layer against a real kernel (QEMU lab, about 3-6 minutes under TCG):\n' +
    '   make build && bash bench/lab-apply.sh          # (a) 10k-filter device, (b) 100 devices, (c) label change\n' +
    '   bash bench/lab-apply.sh a                      # only (a); BENCH_REPS=N sets its repetitions (default 3)\n' +
    '   bash bench/lab-apply.sh b                      # only (b) and (c)',
);
console.log(`\ndone in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
