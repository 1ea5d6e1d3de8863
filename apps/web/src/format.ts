/** Number and text formatting of the page (pure functions). */

const intFmt = new Intl.NumberFormat("en-US");

/** 1234567 → "1,234,567". */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? intFmt.format(Math.round(n)) : "–";
}

/** 2.3456 → "2.35×". */
export function fmtRatio(r: number, digits = 2): string {
  return Number.isFinite(r) ? `${r.toFixed(digits)}×` : "–";
}

/** Bytes → "812 B", "2.3 KiB", "1.50 MiB". */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}

/** 0.1234 → "12.3%". */
export function fmtPercent(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : "–";
}

/** Perplexity: 3 significant figures below 1000, integers above. */
export function fmtPpl(p: number): string {
  if (!Number.isFinite(p)) return "–";
  return p >= 1000 ? fmtInt(p) : p.toPrecision(3);
}

/** Milliseconds → "850 ms" or "2.31 s". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A modes/ranks list → "4·4·8"; null → "–". */
export function fmtList(xs: readonly number[] | null, sep = "·"): string {
  return xs && xs.length > 0 ? xs.join(sep) : "–";
}

export type RatioGrade = "met" | "near" | "missed";

/**
 * How a reached ratio compares with the target: met (≥ target, with a 0.5% tolerance for rank granularity),
 * near (≥ 90% of it), missed. The page colours the ratio by grade and also says it in words.
 */
export function gradeRatio(reached: number, target: number): RatioGrade {
  if (!(target > 0) || !Number.isFinite(reached)) return "missed";
  if (reached >= target * 0.995) return "met";
  if (reached >= target * 0.9) return "near";
  return "missed";
}

export const GRADE_TEXT: Record<RatioGrade, string> = {
  met: "meets the target",
  near: "within 10% of the target",
  missed: "below the target",
};

/** tokens / ms → tokens per second (0 when nothing was timed). */
export function tokensPerSecond(tokens: number, ms: number): number {
  return ms > 0 ? (tokens * 1000) / ms : 0;
}
