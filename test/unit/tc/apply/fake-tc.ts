// A stand-in for tc and ip in unit tests of the reconciler: every device has a clsact qdisc and
// no filters, except for its faults. Writes behave as `tc -batch` without -force: the lines run in
// order and the batch stops at the first failing one, reporting its 1-based number.

import { expect } from 'chai';
import {
  ExternalCallError,
  type BatchFailure,
  type OpenBatch,
  type TcRunner,
} from '../../../../src/tc/apply/tc-runner.js';

export type DeviceFault = 'gone' | 'garbage' | 'truncated' | 'write-fails' | 'write-times-out';

export class FakeTc implements TcRunner {
  writes = 0;
  /** Lines that ran, per device (summed over batches). */
  readonly written = new Map<string, number>();
  /** The lines of every `tc -s -j -batch` read. */
  readonly readCalls: string[][] = [];
  /** The lines of every write batch. */
  readonly batchCalls: string[][] = [];
  /** ifindex per device (`ip -j link show`); change one to stand for a recreated netdev. */
  readonly ifindex = new Map<string, number>();
  constructor(
    readonly devices: string[],
    readonly faults: Map<string, DeviceFault>,
  ) {
    devices.forEach((d, i) => this.ifindex.set(d, i + 10));
  }
  static deviceOf(line: string): string {
    return /dev (\S+)/.exec(line)?.[1] ?? '';
  }
  /** Devices read, in order, over all reads so far. */
  devicesRead(): string[] {
    return [...new Set(this.readCalls.flat().map(FakeTc.deviceOf))];
  }
  async batch(lines: string[]): Promise<BatchFailure | undefined> {
    this.batchCalls.push(lines);
    this.writes += lines.length;
    for (let i = 0; i < lines.length; i++) {
      const dev = FakeTc.deviceOf(lines[i]!);
      const fault = this.faults.get(dev);
      // A timed-out process says nothing about how far it got.
      if (fault === 'write-times-out')
        return { line: 0, text: '', message: 'tc -batch: timed out after 50 ms (killed; see --tc-timeout)' };
      if (fault === 'write-fails')
        return { line: i + 1, text: lines[i]!, message: 'Error: Operation not permitted' };
      this.written.set(dev, (this.written.get(dev) ?? 0) + 1);
    }
    return undefined;
  }
  /** Batches started before their lines were known (openBatch); each runs as `batch` on close. */
  opened = 0;
  openBatch(): OpenBatch {
    this.opened++;
    const lines: string[] = [];
    return {
      write: (more) => void lines.push(...more),
      close: () => this.batch(lines),
      get lines() {
        return lines.length;
      },
    };
  }
  /** `tc -j qdisc show` calls so far. */
  qdiscReads = 0;
  async json(args: string[]): Promise<unknown[]> {
    expect(args).to.deep.equal(['qdisc', 'show']);
    this.qdiscReads++;
    return this.devices.map((dev) => ({ kind: 'clsact', dev }));
  }
  async readBatch(lines: string[]): Promise<string> {
    this.readCalls.push(lines);
    const out: string[] = [];
    for (const line of lines) {
      const dev = FakeTc.deviceOf(line);
      const fault = this.faults.get(dev);
      if (fault === 'gone')
        throw new ExternalCallError('exit', `tc -s -j -batch: Cannot find device "${dev}"`);
      if (fault === 'garbage') out.push('[{"protocol": nonsense');
      else if (fault === 'truncated') out.push('[{"protocol":"all"');
      else out.push('[]');
    }
    return out.join('\n');
  }
  async ipJson(args: string[]): Promise<unknown[]> {
    expect(args).to.deep.equal(['link', 'show']);
    return this.devices.map((ifname) => ({ ifname, ifindex: this.ifindex.get(ifname) }));
  }
}
