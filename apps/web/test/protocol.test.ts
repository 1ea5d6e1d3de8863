import { ConfigError } from "@tensor-tt/tt-core";
import { describe, expect, it } from "vitest";
import {
  describeError,
  isEnvelope,
  isWorkerMessage,
  toErrorPayload,
  transferables,
} from "../src/protocol.js";

describe("worker protocol", () => {
  it("accepts well-formed worker messages and nothing else", () => {
    expect(isWorkerMessage({ id: 1, kind: "result", result: null })).toBe(true);
    expect(isWorkerMessage({ id: 2, kind: "progress", progress: { done: 1, total: 12, label: "q" } })).toBe(
      true,
    );
    expect(isWorkerMessage({ id: 3, kind: "error", error: { name: "FormatError", message: "bad" } })).toBe(
      true,
    );
    expect(isWorkerMessage({ id: 1, kind: "result" })).toBe(false);
    expect(isWorkerMessage({ id: 1.5, kind: "result", result: 1 })).toBe(false);
    expect(isWorkerMessage({ id: 1, kind: "progress", progress: { done: "1", total: 2, label: "" } })).toBe(
      false,
    );
    expect(isWorkerMessage({ id: 1, kind: "error", error: { name: "E" } })).toBe(false);
    expect(isWorkerMessage({ id: 1, kind: "other", result: 1 })).toBe(false);
    expect(isWorkerMessage(null)).toBe(false);
    expect(isWorkerMessage("x")).toBe(false);
  });

  it("accepts known request types only", () => {
    expect(isEnvelope({ id: 1, request: { type: "init", backend: "wasm" } })).toBe(true);
    expect(isEnvelope({ id: 1, request: { type: "compress", settings: {} } })).toBe(true);
    expect(isEnvelope({ id: 1, request: { type: "format-disk" } })).toBe(false);
    expect(isEnvelope({ id: "1", request: { type: "init" } })).toBe(false);
    expect(isEnvelope({ id: 1 })).toBe(false);
  });

  it("turns the packages' typed errors into plain data with their details", () => {
    const e = new ConfigError("unknown rank policy", {
      expected: "uniform, hybrid or budget",
      received: '"x"',
    });
    const p = toErrorPayload(e);
    expect(p).toEqual({
      name: "ConfigError",
      message: e.message,
      expected: "uniform, hybrid or budget",
      received: '"x"',
    });
    expect(structuredClone(p)).toEqual(p);
    expect(toErrorPayload("plain")).toEqual({ name: "Error", message: "plain" });
    const t = toErrorPayload(new TypeError("nope"));
    expect(t).toEqual({ name: "TypeError", message: "nope" });
  });

  it("describes an error in one line without repeating details the message has", () => {
    expect(
      describeError({ name: "FormatError", message: "truncated", expected: "8 bytes", received: "3" }),
    ).toBe("FormatError: truncated (expected 8 bytes; received 3)");
    expect(describeError({ name: "E", message: "m; received 3", received: "3" })).toBe("E: m; received 3");
    expect(describeError({ name: "E", message: "m" })).toBe("E: m");
  });

  it("transfers the bytes of dropped files and exported files, nothing else", () => {
    const a = new ArrayBuffer(4);
    const b = new ArrayBuffer(8);
    const files = [
      { name: "config.json", bytes: a },
      { name: "model.safetensors", bytes: b },
    ];
    expect(transferables({ type: "load-files", files })).toEqual([a, b]);
    expect(transferables({ files: [{ name: "m.ttm", mime: "x", bytes: a }] })).toEqual([a]);
    expect(transferables({ type: "init", backend: "cpu" })).toEqual([]);
  });
});
