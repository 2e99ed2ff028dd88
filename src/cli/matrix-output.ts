// `explain --matrix` output, written row by row as the rows are computed: the text table, or the
// JSON object (the same bytes as before, the `matrix` member written one source at a time).

import type { MatrixPlan, MatrixRow } from './explain.js';
import { Deferred, FLUSH, jsonPieces, LazyEntries, type Piece } from './write-json.js';

function cell(source: string, column: string, row: MatrixRow): string {
  if (source === column) return ' -';
  if (row.notEnforced.includes(column)) return ' !';
  const v = row.cells[column];
  return v === 'allow' ? ' .' : v === 'deny' ? ' X' : ' ?';
}

/**
 * The table: one line per source. When rows and columns are the same interfaces (no
 * --from-namespace/--to-namespace), a row is labelled "<its column number> <name>"; otherwise the
 * columns are listed first, numbered, and rows carry their name only.
 */
export function* matrixTextPieces(plan: MatrixPlan, rows: Iterable<MatrixRow>): Generator<Piece> {
  const square = plan.rows.length === plan.columns.length && plan.rows.every((r, i) => r === plan.columns[i]);
  const label = (name: string, i: number) => (square ? `${i} ${name}` : name);
  const w = Math.max(10, ...plan.rows.map((n, i) => label(n, i).length));
  if (!square) {
    yield 'columns:\n';
    for (let j = 0; j < plan.columns.length; j++) yield `  ${j} ${plan.columns[j]}\n`;
  }
  yield `${'from \\ to'.padEnd(w)}  ${plan.columns.map((_, j) => `${j}`.padStart(2)).join(' ')}\n`;
  yield FLUSH;
  let anyNotEnforced = false;
  let i = 0;
  for (const row of rows) {
    anyNotEnforced ||= row.notEnforced.length > 0;
    const cells = plan.columns.map((c) => cell(row.source, c, row));
    yield `${label(row.source, i++).padEnd(w)}  ${cells.join(' ')}\n`;
    yield FLUSH;
  }
  yield anyNotEnforced
    ? '(. allow, X deny, ! allowed because NOT ENFORCED (see show), - self)\n'
    : '(. allow, X deny, - self)\n';
}

/** `{"network", "protocol", "port", "matrix", "notEnforced"}`, as explainMatrix's value prints. */
export function matrixJsonPieces(plan: MatrixPlan, rows: Iterable<MatrixRow>): Generator<Piece> {
  const notEnforced: Record<string, string[]> = {};
  function* entries(): Generator<[string, unknown]> {
    for (const row of rows) {
      if (row.notEnforced.length > 0) notEnforced[row.source] = row.notEnforced;
      yield [row.source, row.cells];
    }
  }
  return jsonPieces({
    network: plan.network,
    protocol: plan.protocol,
    port: plan.port,
    matrix: new LazyEntries(entries()),
    // Only when there is something to say (known once every row is written).
    notEnforced: new Deferred(() => (Object.keys(notEnforced).length > 0 ? notEnforced : undefined)),
  });
}
