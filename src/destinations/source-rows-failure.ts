/**
 * The stream of source rows failed, not the destination. `failure` is the stream's own error,
 * untouched, so that whoever produced the rows can report it in their own terms. Every engine
 * wraps such errors in this while loading and unwraps them before reporting its own failures.
 */
export class SourceRowsFailure extends Error {
  readonly failure: unknown;

  constructor(failure: unknown) {
    super('the stream of source rows failed', { cause: failure });
    this.name = 'SourceRowsFailure';
    this.failure = failure;
  }
}
