/**
 * A reload measured end to end through the service: from the API call to the execution read
 * back as `succeeded`, with a fresh worker process per measurement (its peak memory is then
 * this reload's) and the live sync switched off in it.
 */
import type { ApiClient, ExecutionView } from './api-client.ts';
import type { Window } from './bench-data.ts';
import type { Cleanup } from './cleanup.ts';
import { startWorker, type ServiceEnv } from './service-processes.ts';

const RELOAD_TIMEOUT_MS = 3 * 60 * 60 * 1000;

export interface ReloadMeasurement {
  label: string;
  /** Rows of the window at the source; the rate's numerator in every case. */
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /**
   * From the API call until the execution was marked started: queue pick-up, the mirror
   * tables checked or created, and the chunk plan made (it reads the window's days).
   */
  secondsToStart: number;
  workerPeakRssMb: number;
  /** The worker's resident memory when it was ready, before the reload. */
  workerReadyRssMb: number;
  rowsWritten: number;
  rowsDeleted: number;
  chunks: number;
}

export interface ReloadRun {
  env: ServiceEnv;
  api: ApiClient;
  cleanup: Cleanup;
  nodeOptions?: string[];
}

function secondsBetween(from: string, to: string | null): number {
  return to ? (Date.parse(to) - Date.parse(from)) / 1000 : 0;
}

export async function measureReload(
  run: ReloadRun,
  label: string,
  connectorId: number,
  window: Window,
  rows: number,
): Promise<ReloadMeasurement> {
  const worker = await startWorker(
    run.env,
    `worker-${label.replace(/[^a-z0-9]+/gi, '-')}`,
    { liveSync: false, nodeOptions: run.nodeOptions },
    run.cleanup,
  );

  let view: ExecutionView;
  let peak = Number.NaN;
  const started = performance.now();
  try {
    const executionId = await run.api.reload(connectorId, window.fromDate, window.toDate);
    view = await run.api.waitForExecution(executionId, RELOAD_TIMEOUT_MS);
  } finally {
    // Read before the process goes; it is the peak of this reload's whole life.
    peak = worker.peakRssMb() ?? Number.NaN;
    await worker.stop();
  }
  const seconds = (performance.now() - started) / 1000;

  if (view.status !== 'succeeded') {
    throw new Error(`${label}: execution ${view.status}: ${JSON.stringify(view.error)}`);
  }
  return {
    label,
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    secondsToStart: secondsBetween(view.createdAt, view.startedAt),
    workerPeakRssMb: peak,
    workerReadyRssMb: worker.readyRssMb ?? Number.NaN,
    rowsWritten: view.progress.rowsWritten,
    rowsDeleted: view.progress.rowsDeleted,
    chunks: view.progress.chunksTotal,
  };
}
