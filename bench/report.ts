/**
 * The bench's output: a table a person reads, the targets of issue 5 side by side with what
 * was measured, and as the very last line one JSON object for scripts.
 */
import type { BaselineMeasurement } from './baselines.ts';
import type { ChunkProfile } from './chunk-profile.ts';
import type { IngestMeasurement, LagMeasurement } from './ingest.ts';
import type { ReloadMeasurement } from './reload-cases.ts';

export interface MemoryWindow {
  label: string;
  rows: number;
  peakRssMb: number;
  seconds: number;
}

export interface BenchResults {
  machine: string[];
  rows: number;
  generation?: { rows: number; seconds: number };
  firstMirror?: ReloadMeasurement;
  identical?: ReloadMeasurement;
  changed?: ReloadMeasurement & { updated: number; deleted: number };
  copy?: BaselineMeasurement;
  insert?: BaselineMeasurement;
  pgloader?: BaselineMeasurement | 'not installed';
  ingest?: IngestMeasurement;
  lag?: LagMeasurement;
  memory: MemoryWindow[];
  profiles: ChunkProfile[];
}

const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const fixed = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);

function row(cells: string[], widths: number[]): string {
  return cells
    .map((cell, index) => (index === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[index]!)))
    .join('  ');
}

type Measured = { rows: number; seconds: number; rowsPerSecond: number };

function throughputTable(results: BenchResults): string[] {
  const widths = [40, 11, 8, 10, 7, 8, 14];
  const copyRate = results.copy?.rowsPerSecond;
  const line = (label: string, m: Measured | ReloadMeasurement) => {
    const reload = 'workerPeakRssMb' in m ? m : undefined;
    return row(
      [
        label,
        integer(m.rows),
        fixed(m.seconds),
        integer(m.rowsPerSecond),
        copyRate ? fixed(m.rowsPerSecond / copyRate, 2) : '-',
        reload ? fixed(reload.secondsToStart) : '',
        reload ? `${integer(reload.workerReadyRssMb)} / ${integer(reload.workerPeakRssMb)}` : '',
      ],
      widths,
    );
  };

  const lines = [
    row(['', 'rows', 'seconds', 'rows/s', 'x COPY', 'start s', 'RSS MB idle/peak'], widths),
  ];
  lines.push('Reload of clicks, API call to `succeeded`:');
  if (results.firstMirror) lines.push(line('  first mirror (range empty)', results.firstMirror));
  if (results.identical) lines.push(line('  re-mirror, identical rows', results.identical));
  if (results.changed) lines.push(line('  re-mirror, 10% changed, 1% deleted', results.changed));
  lines.push('The same rows, other ways:');
  if (results.copy) lines.push(line('  plain COPY FROM STDIN (ceiling)', results.copy));
  if (results.insert) lines.push(line('  multi-row INSERT, 1,000 rows each', results.insert));
  if (results.pgloader === 'not installed') lines.push('  pgloader: not installed');
  else if (results.pgloader) lines.push(line('  pgloader (peer)', results.pgloader));
  return lines;
}

function profileTable(profiles: ChunkProfile[]): string[] {
  if (profiles.length === 0) return [];
  const steps = [...new Set(profiles.flatMap((p) => [...p.steps.keys()]))];
  const labelWidth = Math.max(34, ...steps.map((step) => step.length + 4));
  const widths = [labelWidth, ...profiles.map(() => 16)];
  const lines = [
    `Chunk steps, ms summed over ${profiles[0]!.rows.toLocaleString('en-US')} rows ` +
      '(syncRange of the destination, timed per statement):',
    row(['', ...profiles.map((p) => p.label)], widths),
  ];
  for (const step of steps) {
    lines.push(row([`  ${step}`, ...profiles.map((p) => integer(p.steps.get(step) ?? 0))], widths));
  }
  lines.push(row(['  total', ...profiles.map((p) => integer(p.totalMs))], widths));
  lines.push(
    row(['  source COPY OUT alone', ...profiles.map((p) => integer(p.sourceAloneMs))], widths),
  );
  return lines;
}

function verdict(ok: boolean | undefined): string {
  if (ok === undefined) return 'not measured';
  return ok ? 'met' : 'NOT met';
}

function targetLines(results: BenchResults, json: Record<string, unknown>): string[] {
  const ratio = (key: string) => json[key] as number | null;
  const m1 = results.memory.find((m) => m.label === '1M');
  const m5 = results.memory.find((m) => m.label === '5M');
  const checks: Array<[string, string, boolean | undefined]> = [
    [
      'first mirror >= 0.8x COPY',
      fixed(ratio('ratio') ?? undefined, 2),
      ratio('ratio') === null ? undefined : ratio('ratio')! >= 0.8,
    ],
  ];
  const identical = ratio('remirrorIdenticalRatio');
  const changed = ratio('remirrorChangedRatio');
  checks.push([
    'identical re-mirror >= 2x COPY',
    fixed(identical ?? undefined, 2),
    identical === null ? undefined : identical >= 2,
  ]);
  checks.push([
    '10%-changed re-mirror >= 1x COPY',
    fixed(changed ?? undefined, 2),
    changed === null ? undefined : changed >= 1,
  ]);
  const peaks = [results.firstMirror?.workerPeakRssMb, m1?.peakRssMb, m5?.peakRssMb].filter(
    (v): v is number => v !== undefined,
  );
  const maxPeak = peaks.length ? Math.max(...peaks) : undefined;
  checks.push([
    'worker peak RSS < 250 MB',
    maxPeak === undefined ? '-' : `${integer(maxPeak)} MB`,
    maxPeak === undefined ? undefined : maxPeak < 250,
  ]);
  const growth = m1 && m5 ? m5.peakRssMb / m1.peakRssMb - 1 : undefined;
  checks.push([
    '5M window RSS within 20% of 1M',
    growth === undefined ? '-' : `${fixed(growth * 100)}%`,
    growth === undefined ? undefined : growth <= 0.2,
  ]);
  const p99 = results.lag?.p99Seconds;
  checks.push([
    `sync lag p99 < 10 s at ${integer(results.lag?.eventsPerSecondTarget ?? 2000)} ev/s`,
    p99 === undefined ? '-' : `${fixed(p99, 2)} s`,
    p99 === undefined ? undefined : p99 < 10,
  ]);
  const ingest = results.ingest?.eventsPerSecond;
  checks.push([
    'ingest >= 20,000 events/s',
    ingest === undefined ? '-' : integer(ingest),
    ingest === undefined ? undefined : ingest >= 20_000,
  ]);

  return [
    'Targets of issue 5:',
    ...checks.map(([target, value, ok]) => row([`  ${target}`, value, verdict(ok)], [42, 12, 12])),
  ];
}

function roundOrNull(value: number | undefined, digits = 0): number | null {
  if (value === undefined || Number.isNaN(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function summaryJson(results: BenchResults): Record<string, unknown> {
  const copy = results.copy?.rowsPerSecond;
  const ratioTo = (rate: number | undefined) => (rate && copy ? rate / copy : undefined);
  const pgloader = typeof results.pgloader === 'object' ? results.pgloader : undefined;
  return {
    rows: results.rows,
    reloadRowsPerSecond: roundOrNull(results.firstMirror?.rowsPerSecond),
    remirrorIdenticalRowsPerSecond: roundOrNull(results.identical?.rowsPerSecond),
    remirrorChangedRowsPerSecond: roundOrNull(results.changed?.rowsPerSecond),
    copyRowsPerSecond: roundOrNull(copy),
    ratio: roundOrNull(ratioTo(results.firstMirror?.rowsPerSecond), 3),
    remirrorIdenticalRatio: roundOrNull(ratioTo(results.identical?.rowsPerSecond), 3),
    remirrorChangedRatio: roundOrNull(ratioTo(results.changed?.rowsPerSecond), 3),
    insertRowsPerSecond: roundOrNull(results.insert?.rowsPerSecond),
    pgloaderRowsPerSecond: roundOrNull(pgloader?.rowsPerSecond),
    peakRssMb: roundOrNull(results.firstMirror?.workerPeakRssMb, 1),
    peakRssMb1M: roundOrNull(results.memory.find((m) => m.label === '1M')?.peakRssMb, 1),
    peakRssMb5M: roundOrNull(results.memory.find((m) => m.label === '5M')?.peakRssMb, 1),
    lagP50Seconds: roundOrNull(results.lag?.p50Seconds, 2),
    lagP99Seconds: roundOrNull(results.lag?.p99Seconds, 2),
    ingestEventsPerSecond: roundOrNull(results.ingest?.eventsPerSecond),
  };
}

export function formatReport(results: BenchResults): string {
  const json = summaryJson(results);
  const lines = [...results.machine, ''];
  if (results.generation) {
    const { rows, seconds } = results.generation;
    lines.push(`Data generated: ${integer(rows)} rows in ${fixed(seconds)} s`, '');
  }
  lines.push(...throughputTable(results), '');

  if (results.ingest) {
    const i = results.ingest;
    lines.push(
      `Ingest (POST /v1/affiliates/{id}/events, one API process): ${integer(i.events)} events ` +
        `in ${fixed(i.seconds)} s = ${integer(i.eventsPerSecond)} events/s ` +
        `(${integer(i.batchSize)} a request, ${i.concurrency} in flight)`,
    );
  }
  if (results.lag) {
    const l = results.lag;
    lines.push(
      `Live sync lag at ${integer(l.eventsPerSecondTarget)} events/s for ${fixed(l.seconds)} s ` +
        `(sent ${integer(l.eventsPerSecondSent)}/s, ${integer(l.events)} events): ` +
        `p50 ${fixed(l.p50Seconds, 2)} s, p99 ${fixed(l.p99Seconds, 2)} s, max ${fixed(l.maxSeconds, 2)} s` +
        (l.missingBatches > 0 ? `, ${l.missingBatches} batches never seen` : ''),
    );
  }
  for (const m of results.memory) {
    lines.push(
      `Worker peak RSS, ${m.label} window (${integer(m.rows)} rows, ${fixed(m.seconds)} s): ` +
        `${fixed(m.peakRssMb)} MB`,
    );
  }
  lines.push('', ...profileTable(results.profiles), '', ...targetLines(results, json), '');
  lines.push(JSON.stringify(json));
  return lines.join('\n') + '\n';
}
