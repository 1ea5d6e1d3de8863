/**
 * Ctrl-C inside a run: the CLI aborts an `AbortSignal` (`ctx.signal` of the suite); the suite stops
 * at its next row boundary (the run's `loadPartial` / `savePartial` throw {@link InterruptedError}
 * once the signal is aborted) or sooner where it passes the signal to a long operation (`train`,
 * downloads, child processes). The run then writes its `interrupted` record and the CLI exits 130.
 */

/** The run was asked to stop (Ctrl-C); rows finished before it are saved. */
export class InterruptedError extends Error {
  constructor(message = "interrupted (Ctrl-C)", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InterruptedError";
  }
}

/** @throws {InterruptedError} when `signal` is aborted. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}
