import { describe, expect, it } from "vitest";
import { formatDuration, ProgressRenderer } from "./progress.js";
import { RecordingStream } from "./testing/fixtures.js";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("ProgressRenderer, plain (not a TTY)", () => {
  it("writes no escape codes and reports start, throttled status with ETA, and done", () => {
    const s = new RecordingStream(false);
    const c = clock();
    const r = new ProgressRenderer(s, { now: c.now, plainIntervalMs: 1000 });
    const bar = r.create("train dense", 10);
    c.advance(500);
    bar.tick(); // under the interval: silent
    c.advance(1500);
    bar.tick(3, "loss 5.1"); // 4/10 after 2 s -> ETA 3 s
    c.advance(3000);
    bar.tick(6);
    bar.done();
    expect(s.text.includes("\x1b")).toBe(false);
    const lines = s.text.trim().split("\n");
    expect(lines[0]).toBe("train dense: started (10 steps)");
    expect(lines[1]).toContain("40%");
    expect(lines[1]).toContain("4/10");
    expect(lines[1]).toContain("ETA 3.0s");
    expect(lines[1]).toContain("loss 5.1");
    expect(lines.at(-1)).toBe("train dense: done 10/10 in 5.0s (loss 5.1)");
  });

  it("counts skipped units (a resumed training) but leaves them out of the ETA", () => {
    const s = new RecordingStream(false);
    const c = clock();
    const r = new ProgressRenderer(s, { now: c.now, plainIntervalMs: 1000 });
    const bar = r.create("dense-small", 100);
    bar.skip?.(60);
    c.advance(2000);
    bar.tick(10); // 70/100; 10 units in 2 s here -> 30 left take 6 s
    const lines = s.text.trim().split("\n");
    expect(lines[1]).toContain("70%");
    expect(lines[1]).toContain("70/100");
    expect(lines[1]).toContain("ETA 6.0s");
  });

  it("prints log lines as they come", () => {
    const s = new RecordingStream(false);
    const r = new ProgressRenderer(s);
    r.log("hello");
    expect(s.text).toBe("hello\n");
  });
});

describe("ProgressRenderer, TTY", () => {
  it("redraws bars in place and keeps logs above them", () => {
    const s = new RecordingStream(true);
    const c = clock();
    const r = new ProgressRenderer(s, { now: c.now, minRedrawMs: 0 });
    const outer = r.create("rows", 2);
    const inner = r.create("steps", 100);
    c.advance(1000);
    inner.tick(50);
    expect(s.text).toContain("\x1b[2A"); // both bar lines redrawn
    expect(s.text).toMatch(/steps {2}\[█+░+\] +50%/);
    r.log("note");
    inner.done();
    outer.tick();
    r.stop();
    expect(s.text).toContain("note\n");
    expect(s.text).toContain("steps: done 50/100");
    expect(s.text).toContain("rows: interrupted at 1/2");
  });

  it("throttles redraws", () => {
    const s = new RecordingStream(true);
    const c = clock();
    const r = new ProgressRenderer(s, { now: c.now, minRedrawMs: 100 });
    const bar = r.create("x", 1000);
    const before = s.text.length;
    for (let i = 0; i < 50; i++) {
      c.advance(1);
      bar.tick();
    }
    expect(s.text.length).toBe(before);
    c.advance(100);
    bar.tick();
    expect(s.text.length).toBeGreaterThan(before);
  });
});

describe("formatDuration", () => {
  it("formats seconds, minutes and hours", () => {
    expect(formatDuration(3.25)).toBe("3.3s");
    expect(formatDuration(42)).toBe("42s");
    expect(formatDuration(187)).toBe("3m07s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(Number.NaN)).toBe("?");
  });
});
