/**
 * Byte-level word tokenizer with the semantics of the classic word-language-model loader:
 *
 *     for line in open(path, encoding="utf8"):      # universal newlines: \n, \r\n, \r
 *         ids += [word2idx[w] for w in line.split() + ["<eos>"]]
 *
 * Words are interned once in an open-addressing hash table keyed on their UTF-8 bytes (FNV-1a),
 * so no JavaScript string is made per token: only one per distinct word, when it is first seen.
 * Ids are written straight into a growing `Int32Array`.
 */
import { ArgumentError } from "./errors.js";

const EOS = "<eos>";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Interns byte strings to dense ids in first-seen order. */
export class WordInterner {
  private cap = 1 << 16;
  private mask = this.cap - 1;
  private slots: Int32Array = new Int32Array(this.cap).fill(-1);
  private hashes: Uint32Array = new Uint32Array(this.cap);
  private arena: Uint8Array = new Uint8Array(1 << 19);
  private arenaLen = 0;
  private offs: Int32Array = new Int32Array(1 << 12);
  private lens: Int32Array = new Int32Array(1 << 12);
  /** Number of distinct words. */
  size = 0;
  /** When frozen, unseen words map to `unkId` instead of getting a new id. */
  frozen = false;
  unkId = -1;
  /** Id of `<eos>`, interned when the first line ends (as the reference does); -1 before. */
  eosId = -1;

  /** Id of `<eos>`, interning it on first use (never frozen out). */
  eos(): number {
    if (this.eosId < 0) {
      const frozen = this.frozen;
      this.frozen = false;
      this.eosId = this.internString(EOS);
      this.frozen = frozen;
    }
    return this.eosId;
  }

  /** Id of the UTF-8 bytes `b[s..e)`, whose FNV-1a hash is `h` (see {@link hashBytes}). */
  intern(b: Uint8Array, s: number, e: number, h: number): number {
    const { slots, hashes, lens, offs, arena, mask } = this;
    const len = e - s;
    let i = h & mask;
    for (;;) {
      const id = slots[i]!;
      if (id < 0) break;
      if (hashes[i] === h && lens[id] === len) {
        const o = offs[id]!;
        let k = 0;
        while (k < len && arena[o + k] === b[s + k]) k++;
        if (k === len) return id;
      }
      i = (i + 1) & mask;
    }
    if (this.frozen) return this.unkId;
    return this.add(b, s, e, h, i);
  }

  /** Id of `word`, adding it unless frozen. */
  internString(word: string): number {
    const b = new TextEncoder().encode(word);
    return this.intern(b, 0, b.length, hashBytes(b, 0, b.length));
  }

  /** Id of `word` or -1, never adding. */
  lookup(word: string): number {
    const frozen = this.frozen;
    const unk = this.unkId;
    this.frozen = true;
    this.unkId = -1;
    const id = this.internString(word);
    this.frozen = frozen;
    this.unkId = unk;
    return id;
  }

  /** `words[id]`, decoded once per distinct word. */
  words(): string[] {
    const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const out = new Array<string>(this.size);
    for (let id = 0; id < this.size; id++) {
      const o = this.offs[id]!;
      out[id] = dec.decode(this.arena.subarray(o, o + this.lens[id]!));
    }
    return out;
  }

  private add(b: Uint8Array, s: number, e: number, h: number, slot: number): number {
    const id = this.size++;
    const len = e - s;
    if (id >= this.offs.length) {
      this.offs = growInt32(this.offs, id + 1);
      this.lens = growInt32(this.lens, id + 1);
    }
    if (this.arenaLen + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    this.arena.set(b.subarray(s, e), this.arenaLen);
    this.offs[id] = this.arenaLen;
    this.lens[id] = len;
    this.arenaLen += len;
    this.slots[slot] = id;
    this.hashes[slot] = h;
    if (this.size * 2 > this.cap) this.rehash();
    return id;
  }

  private rehash(): void {
    const cap = this.cap * 2;
    const mask = cap - 1;
    const slots = new Int32Array(cap).fill(-1);
    const hashes = new Uint32Array(cap);
    for (let i = 0; i < this.cap; i++) {
      const id = this.slots[i]!;
      if (id < 0) continue;
      const h = this.hashes[i]!;
      let j = h & mask;
      while (slots[j]! >= 0) j = (j + 1) & mask;
      slots[j] = id;
      hashes[j] = h;
    }
    this.cap = cap;
    this.mask = mask;
    this.slots = slots;
    this.hashes = hashes;
  }
}

/** FNV-1a hash (unsigned 32-bit) of `b[s..e)`. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = FNV_OFFSET;
  for (let p = s; p < e; p++) h = Math.imul(h ^ b[p]!, FNV_PRIME);
  return h >>> 0;
}

function growInt32(a: Int32Array, need: number): Int32Array {
  const b = new Int32Array(Math.max(need, Math.ceil(a.length * 1.5) + 16));
  b.set(a);
  return b;
}

/**
 * Byte length of a multi-byte Unicode whitespace character (Python `str.isspace`) starting at
 * `b[p]`, or 0. The block is valid UTF-8, so continuation bytes are present.
 */
function unicodeSpaceLen(b: Uint8Array, p: number, end: number): number {
  const c = b[p]!;
  if (c === 0xc2) return p + 1 < end && (b[p + 1] === 0x85 || b[p + 1] === 0xa0) ? 2 : 0;
  if (p + 2 >= end) return 0;
  const c1 = b[p + 1]!;
  const c2 = b[p + 2]!;
  if (c === 0xe1) return c1 === 0x9a && c2 === 0x80 ? 3 : 0;
  if (c === 0xe3) return c1 === 0x80 && c2 === 0x80 ? 3 : 0;
  if (c === 0xe2) {
    if (c1 === 0x80) return c2 <= 0x8a || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf ? 3 : 0;
    if (c1 === 0x81) return c2 === 0x9f ? 3 : 0;
  }
  return 0;
}

/** Growing id buffer plus the line state carried between blocks. */
export class IdSink {
  ids: Int32Array;
  n = 0;
  /** Bytes seen since the last line terminator (the final line may lack one). */
  openLine = false;
  /** Lines ended so far. */
  lines = 0;
  constructor(capacity: number) {
    this.ids = new Int32Array(Math.max(16, capacity));
  }
  /** The ids, trimmed (a copy only when the buffer is larger than needed). */
  take(): Int32Array {
    return this.n === this.ids.length ? this.ids : this.ids.slice(0, this.n);
  }
}

/**
 * Tokenizes whole lines `buf[0..end)` into `sink`: words split on Python whitespace, `<eos>` after
 * every line (`\n`, `\r\n` or a lone `\r`). Call {@link finishWords} after the last block.
 */
export function scanWords(buf: Uint8Array, end: number, sink: IdSink, it: WordInterner): void {
  let eosId = it.eosId;
  let ids = sink.ids;
  let n = sink.n;
  let lines = sink.lines;
  let lastTerm = -1; // index of the last line terminator in this block
  let ws = -1; // start of the current word, or -1
  let h = 0;
  for (let p = 0; p < end; p++) {
    const c = buf[p]!;
    if (c > 32 && c < 0x80) {
      if (ws < 0) {
        ws = p;
        h = FNV_OFFSET;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    let sep = 0; // 1: whitespace, 2: line end
    let skip = 0;
    if (c === 10) sep = 2;
    else if (c === 13) {
      if (p + 1 < end && buf[p + 1] === 10)
        sep = 1; // \r\n: the \n ends the line
      else sep = 2;
    } else if (c === 32 || (c >= 9 && c <= 12) || (c >= 28 && c <= 31)) sep = 1;
    else if (c >= 0xc2 && c <= 0xe3) {
      const k = unicodeSpaceLen(buf, p, end);
      if (k > 0) {
        sep = 1;
        skip = k - 1;
      }
    }
    if (sep === 0) {
      if (ws < 0) {
        ws = p;
        h = FNV_OFFSET;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (ws >= 0) {
      if (n >= ids.length) ids = growInt32(ids, n + 1);
      ids[n++] = it.intern(buf, ws, p, h >>> 0);
      ws = -1;
    }
    if (sep === 2) {
      if (eosId < 0) eosId = it.eos();
      if (n >= ids.length) ids = growInt32(ids, n + 1);
      ids[n++] = eosId;
      lines++;
      lastTerm = p;
    }
    p += skip;
  }
  if (ws >= 0) {
    // Only the last block of a file can end inside a word.
    if (n >= ids.length) ids = growInt32(ids, n + 1);
    ids[n++] = it.intern(buf, ws, end, h >>> 0);
  }
  sink.ids = ids;
  sink.n = n;
  if (end > 0) sink.openLine = lastTerm < end - 1;
  sink.lines = lines;
}

/** Ends the final line of a file that lacks a terminator (Python still yields it as a line). */
export function finishWords(sink: IdSink, it: WordInterner): void {
  if (!sink.openLine) return;
  if (sink.n >= sink.ids.length) sink.ids = growInt32(sink.ids, sink.n + 1);
  sink.ids[sink.n++] = it.eos();
  sink.lines++;
  sink.openLine = false;
}

/** Checks an integer option. */
export function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) {
    throw new ArgumentError(`${name} must be an integer >= ${min}`, {
      expected: `an integer >= ${min}`,
      received: String(v),
    });
  }
  return v;
}
