/**
 * Typed errors shared by every tensor-tt package.
 *
 * Every error names what was expected and what arrived, so a message alone is
 * enough to fix the call. `code` is stable and meant for programmatic checks.
 */
export class TTError extends Error {
  /** Stable machine-readable code, e.g. `TT_SHAPE_MISMATCH`. */
  readonly code: string;
  /** What the callee expected, in words. */
  readonly expected: string | undefined;
  /** What actually arrived, in words. */
  readonly received: string | undefined;

  constructor(code: string, message: string, details: { expected?: string; received?: string } = {}) {
    const parts = [message];
    if (details.expected !== undefined) parts.push(`expected ${details.expected}`);
    if (details.received !== undefined) parts.push(`received ${details.received}`);
    super(parts.join("; "));
    this.name = new.target.name;
    this.code = code;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/** A shape, mode factorization or dimension does not fit. */
export class ShapeError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_SHAPE", message, details);
  }
}

/** A TT rank (or rank list) is invalid: non-integer, < 1, wrong length, or not attainable. */
export class RankError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_RANK", message, details);
  }
}

/** A numeric argument is out of range or the data holds NaN / Infinity. */
export class ValueError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_VALUE", message, details);
  }
}

/** A configuration object is inconsistent. */
export class ConfigError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_CONFIG", message, details);
  }
}

/** A serialized file is corrupt, truncated or of the wrong kind/version. */
export class FormatError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_FORMAT", message, details);
  }
}

/** A requested compute backend cannot be used on this machine. */
export class BackendUnavailableError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_BACKEND_UNAVAILABLE", message, details);
  }
}

/** Lazy assertion in the TF.js style: the message is built only on failure. */
export function check(cond: unknown, make: () => TTError): asserts cond {
  if (!cond) throw make();
}

/** Human-readable description of a shape-like array for error messages. */
export function formatShape(x: readonly number[]): string {
  return `[${x.join(", ")}]`;
}

/**
 * A received value as an error message shows it: strings quoted (so `"2"` is not mistaken for the number 2),
 * arrays element by element, anything else as `String(v)` (NaN, Infinity, undefined stay readable).
 */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describeValue).join(", ")}]`;
  return String(v);
}

/** An API that needs something this runtime lacks (e.g. a file system in a browser); the message names the alternative. */
export class PlatformError extends TTError {
  constructor(message: string, details: { expected?: string; received?: string } = {}) {
    super("TT_PLATFORM", message, details);
  }
}
