/**
 * Gets a destination's mirror tables ready before a sync step or a reload writes to them, and
 * tells the operator what was repaired. A table a customer changed beyond repair is set aside
 * (SCHEMA_DRIFT) while the other tables go on.
 */
import type { Destination, SchemaReport } from '../destinations/destination.ts';
import { SchemaDriftError, type DriftProblem } from '../destinations/schema-drift.ts';
import type { Logger } from '../logger.ts';
import {
  dimensionTables,
  eventTables,
  type EventDataType,
  type MirrorTable,
} from '../mirror/tables.ts';
import type { ExecutionRecord } from '../store/executions-store.ts';

export interface PreparedTables {
  /** The tables that are as the mirror needs them: these may be written. */
  ready: MirrorTable[];
  /** What keeps the other tables from being written; undefined when every table is ready. */
  drift?: SchemaDriftError;
}

function logReport(report: SchemaReport, log: Logger): void {
  if (report.created.length > 0) {
    log.info(
      { tables: report.created },
      `mirror tables created: ${report.created.join(', ')}; the continuous mirror fills them from the source`,
    );
  }
  if (report.addedColumns.length > 0) {
    log.warn(
      { columns: report.addedColumns },
      `mirror columns were missing and have been added: ${report.addedColumns.join(', ')}; the continuous mirror backfills every row of their tables`,
    );
  }
}

/**
 * Runs `ensureTables` on `tables`; when some of them have drifted, runs it again on the rest,
 * so that one table a customer altered does not stop the others. Other failures are thrown;
 * the drift is returned for the caller to report.
 */
export async function prepareMirrorTables(
  destination: Destination,
  tables: MirrorTable[],
  log: Logger,
): Promise<PreparedTables> {
  const problems: DriftProblem[] = [];
  let ready = tables;

  while (ready.length > 0) {
    try {
      logReport(await destination.ensureTables(ready), log);
      break;
    } catch (error: unknown) {
      if (!(error instanceof SchemaDriftError)) throw error;

      const rest = ready.filter((table) => !error.tables.includes(table.name));
      if (rest.length === ready.length) throw error;
      problems.push(...error.problems);
      ready = rest;
    }
  }

  return problems.length === 0 ? { ready } : { ready, drift: new SchemaDriftError(problems) };
}

/** The mirror tables an execution writes: a drifted table elsewhere does not stop it. */
export function executionTables(execution: ExecutionRecord): MirrorTable[] {
  return execution.dataType === 'dimensions'
    ? dimensionTables
    : [eventTables[execution.dataType as EventDataType]];
}
