/**
 * The model as bytes (the browser's save/load) and the browser build of the file-system module: every folder API
 * there throws a PlatformError that names the bytes API instead.
 */
import { FormatError, initEngine, PlatformError } from "@tensor-tt/tt-core";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { HybridTTTransformer } from "./model.js";
import * as browser from "./platform/browser.js";
import * as node from "./platform/node.js";
import { tinyConfig } from "./testing/fixtures.js";

beforeAll(async () => {
  await initEngine({ backend: "cpu" });
});

describe("model bytes", () => {
  it("round-trip: same config, same logits, bit for bit", async () => {
    const a = new HybridTTTransformer(tinyConfig({ seed: 3 }));
    const bytes = await a.toBytes();
    expect(bytes).toBeInstanceOf(Uint8Array);
    const b = HybridTTTransformer.fromBytes(bytes);
    expect(b.config).toEqual(a.config);
    const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    expect(Array.from(b.logits(x).dataSync())).toEqual(Array.from(a.logits(x).dataSync()));
    tf.dispose(x);
    expect(() => HybridTTTransformer.fromBytes(bytes, { expectVocabSize: a.config.vocabSize + 1 })).toThrow(
      /vocabulary/,
    );
    a.dispose();
    b.dispose();
  });

  it("a flipped payload byte, a truncation or foreign bytes are FormatErrors", async () => {
    const a = new HybridTTTransformer(tinyConfig({ seed: 3 }));
    const bytes = await a.toBytes();
    a.dispose();
    const flipped = bytes.slice();
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 0xff;
    expect(() => HybridTTTransformer.fromBytes(flipped)).toThrow(/checksum/);
    expect(() => HybridTTTransformer.fromBytes(bytes.subarray(0, bytes.length - 8))).toThrow(FormatError);
    expect(() => HybridTTTransformer.fromBytes(new TextEncoder().encode('{"not":"a model"}'))).toThrow(
      FormatError,
    );
    expect(() => HybridTTTransformer.fromBytes(null as unknown as Uint8Array)).toThrow(FormatError);
  });
});

describe("#platform, browser build", () => {
  it("exports the same names as the Node build", () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    expect(browser.hasFileSystem).toBe(false);
    expect(node.hasFileSystem).toBe(true);
  });

  it("every file API throws a PlatformError naming the bytes API", async () => {
    const model = {} as HybridTTTransformer;
    const calls: Array<() => Promise<unknown>> = [
      () => browser.readBytes("m/weights.bin"),
      () => browser.readText("m/config.json"),
      () => browser.ensureDir("m"),
      () => browser.writeAtomic("m/x", "x"),
      () => browser.openHFGPT2Folder("gpt2"),
      () => browser.saveHuggingFaceGPT2(model, "gpt2"),
    ];
    for (const call of calls) {
      const e = await call().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PlatformError);
      expect((e as Error).message).toMatch(/toBytes\(\).*fromBytes/);
      expect((e as PlatformError).received).toMatch(/^a browser, path "/);
    }
    expect(browser.joinPath("a", "b", "c")).toBe("a/b/c");
  });
});
