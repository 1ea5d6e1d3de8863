/** Cooperative scheduling of the long loops (training, generation): one shared yield. */

/** Lets timers, I/O and abort signals run (a macrotask: setTimeout 0 works in Node and browsers). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
