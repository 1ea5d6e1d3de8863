import { describe, expect, it } from "vitest";
import {
  fmtBytes,
  fmtInt,
  fmtList,
  fmtMs,
  fmtPercent,
  fmtPpl,
  fmtRatio,
  gradeRatio,
  tokensPerSecond,
} from "../src/format.js";

describe("formatting", () => {
  it("formats numbers for people", () => {
    expect(fmtInt(601600)).toBe("601,600");
    expect(fmtInt(Number.NaN)).toBe("–");
    expect(fmtRatio(2.00747)).toBe("2.01×");
    expect(fmtRatio(2.00747, 3)).toBe("2.007×");
    expect(fmtBytes(812)).toBe("812 B");
    expect(fmtBytes(2048)).toBe("2.0 KiB");
    expect(fmtBytes(2410299)).toBe("2.30 MiB");
    expect(fmtBytes(-1)).toBe("–");
    expect(fmtPercent(0.1234)).toBe("12.3%");
    expect(fmtPpl(38.4455)).toBe("38.4");
    expect(fmtPpl(170.09)).toBe("170");
    expect(fmtPpl(12345.6)).toBe("12,346");
    expect(fmtPpl(Number.POSITIVE_INFINITY)).toBe("–");
    expect(fmtMs(234.4)).toBe("234 ms");
    expect(fmtMs(2310)).toBe("2.31 s");
    expect(fmtList([4, 4, 8])).toBe("4·4·8");
    expect(fmtList([16, 32, 16], ", ")).toBe("16, 32, 16");
    expect(fmtList(null)).toBe("–");
    expect(tokensPerSecond(20, 500)).toBe(40);
    expect(tokensPerSecond(20, 0)).toBe(0);
  });

  it("grades a reached ratio against the target", () => {
    expect(gradeRatio(2.007, 2)).toBe("met");
    expect(gradeRatio(1.995, 2)).toBe("met");
    expect(gradeRatio(1.98, 2)).toBe("near");
    expect(gradeRatio(1.8, 2)).toBe("near");
    expect(gradeRatio(1.79, 2)).toBe("missed");
    expect(gradeRatio(Number.NaN, 2)).toBe("missed");
    expect(gradeRatio(3, 0)).toBe("missed");
  });
});
