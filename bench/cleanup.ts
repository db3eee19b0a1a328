/**
 * What the bench started and must take down again: servers, processes, databases, temp
 * folders. Each step registers its own undo as soon as the thing exists; they run newest
 * first, once, on a normal end, on a failure and on Ctrl-C alike.
 */

type Undo = () => void | Promise<void>;

export class Cleanup {
  readonly #undos: Array<{ what: string; undo: Undo }> = [];
  #running: Promise<void> | undefined;

  /** Registers an undo; returns a function that runs (and forgets) it early. */
  add(what: string, undo: Undo): () => Promise<void> {
    const entry = { what, undo };
    this.#undos.push(entry);

    return async () => {
      const index = this.#undos.indexOf(entry);
      if (index < 0) return;
      this.#undos.splice(index, 1);
      await entry.undo();
    };
  }

  /** Runs every undo, newest first; a failing one is reported and the rest still run. */
  runAll(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#undos.length > 0) {
        const { what, undo } = this.#undos.pop()!;
        try {
          await undo();
        } catch (error: unknown) {
          process.stderr.write(`bench: cleaning up ${what} failed: ${String(error)}\n`);
        }
      }
    })();
    return this.#running;
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130 (a second signal exits at once). */
  onSignals(): void {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) process.exit(130);
      received = true;
      process.stderr.write(`\nbench: ${signal} received, cleaning up...\n`);
      void this.runAll().finally(() => process.exit(130));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }
}
