/**
 * Typed errors of `@tensor-tt/datasets`.
 *
 * Same shape as the errors of `@tensor-tt/tt-core` (this package does not depend on it):
 * a stable `code`, and `expected` / `received` in words so that the message alone says
 * what to fix. Every error thrown by this package is a {@link DataError}.
 */
export interface ErrorDetails {
  expected?: string;
  received?: string;
}

/** Base class of every error thrown by this package. */
export class DataError extends Error {
  /** Stable machine-readable code, e.g. `DATA_CHECKSUM`. */
  readonly code: string;
  /** What was expected, in words. */
  readonly expected: string | undefined;
  /** What actually arrived, in words. */
  readonly received: string | undefined;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    const parts = [message];
    if (details.expected !== undefined) parts.push(`expected ${details.expected}`);
    if (details.received !== undefined) parts.push(`received ${details.received}`);
    super(parts.join("; "), options);
    this.name = new.target.name;
    this.code = code;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/** A file's sha256 (or its size, when it is larger than published) differs from the published value. */
export class ChecksumError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_CHECKSUM", message, details, options);
  }
}

/** A file is shorter than published, or its last line has no terminating newline. */
export class TruncatedFileError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_TRUNCATED", message, details, options);
  }
}

/** A split (train / valid / test) that the caller needs is absent from the resolved folder. */
export class MissingSplitError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_MISSING_SPLIT", message, details, options);
  }
}

/** A data file has zero bytes. */
export class EmptyFileError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_EMPTY_FILE", message, details, options);
  }
}

/** A data file is not valid UTF-8. */
export class EncodingError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_ENCODING", message, details, options);
  }
}

/** No copy of the corpus was found anywhere; the message lists every place looked at. */
export class DataNotFoundError extends DataError {
  /** Every location tried, in order, with the reason it was not used. */
  readonly looked: readonly string[];
  constructor(
    message: string,
    looked: readonly string[],
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super("DATA_NOT_FOUND", message, details, options);
    this.looked = looked;
  }
}

/** A download failed (network error, HTTP status, dropped connection, timeout). */
export class DownloadError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_DOWNLOAD", message, details, options);
  }
}

/** A saved file (vocabulary, zip archive) is corrupt or of the wrong kind / version. */
export class DataFormatError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_FORMAT", message, details, options);
  }
}

/** An argument is out of range (batch size, sequence length, stride, vocabulary cap, token id...). */
export class ArgumentError extends DataError {
  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super("DATA_ARGUMENT", message, details, options);
  }
}

/** Lazy assertion: the error is built only on failure. */
export function check(cond: unknown, make: () => DataError): asserts cond {
  if (!cond) throw make();
}

/** `1234567` → `"1,234,567"` for messages. */
export function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}
