/**
 * What `ensureTables` found in a customer's mirror tables and could not repair by itself, shared
 * by every destination engine. Each problem names its table, so that the engine can keep the
 * other tables of the schema mirroring while one waits for the customer to put it right.
 */
import { AppError } from '../errors.ts';

export interface DriftProblem {
  /** The mirror table at fault. */
  table: string;
  /** What is wrong and what to do about it, naming `schema.table.column` where there is one. */
  message: string;
}

/**
 * SCHEMA_DRIFT, permanent: retrying cannot help until someone changes the table. Its message
 * lists every problem; `problems` keeps them per table.
 */
export class SchemaDriftError extends AppError {
  readonly problems: DriftProblem[];

  constructor(problems: DriftProblem[], options: { cause?: unknown } = {}) {
    const listed = problems.map((problem) => problem.message).join(' ');
    super('SCHEMA_DRIFT', `${listed} Nothing is written to ${plural(problems)} until then.`, {
      retryClass: 'permanent',
      cause: options.cause,
    });
    this.problems = problems;
  }

  /** The tables these problems are about, each once. */
  get tables(): string[] {
    return [...new Set(this.problems.map((problem) => problem.table))];
  }

  /** The same error narrowed to the problems of `tables`; undefined when none are about them. */
  about(tables: string[]): SchemaDriftError | undefined {
    const problems = this.problems.filter((problem) => tables.includes(problem.table));
    return problems.length > 0 ? new SchemaDriftError(problems) : undefined;
  }
}

function plural(problems: DriftProblem[]): string {
  const tables = new Set(problems.map((problem) => problem.table));
  return tables.size === 1 ? 'this table' : 'these tables';
}
