import { describe, expect, it } from "vitest";
import { DEFAULT_SEED, parseCliArgs, UsageError } from "./args.js";

describe("parseCliArgs", () => {
  it("defaults to the ppl suite on the smoke preset", () => {
    expect(parseCliArgs([])).toEqual({
      suite: "ppl",
      preset: "smoke",
      out: undefined,
      backend: "auto",
      seed: DEFAULT_SEED,
      resume: false,
      help: false,
    });
  });

  it("reads every option", () => {
    const o = parseCliArgs([
      "layers",
      "--preset",
      "standard",
      "--out",
      "x/y",
      "--backend",
      "CPU",
      "--seed=7",
      "--resume",
    ]);
    expect(o).toMatchObject({
      suite: "layers",
      preset: "standard",
      out: "x/y",
      backend: "cpu",
      seed: 7,
      resume: true,
    });
  });

  it("accepts all as a suite", () => {
    expect(parseCliArgs(["all", "--preset", "paper"]).suite).toBe("all");
  });

  it("rejects an unknown suite and names the choices", () => {
    expect(() => parseCliArgs(["pp"])).toThrow(UsageError);
    expect(() => parseCliArgs(["pp"])).toThrow(
      /unknown suite "pp".*decompose, data, layers, ppl, model, all/,
    );
  });

  it("rejects an unknown preset", () => {
    expect(() => parseCliArgs(["--preset", "huge"])).toThrow(/unknown preset "huge".*smoke, standard, paper/);
  });

  it("rejects an unknown flag", () => {
    expect(() => parseCliArgs(["ppl", "--fast"])).toThrow(UsageError);
    expect(() => parseCliArgs(["ppl", "--fast"])).toThrow(/--fast/);
  });

  it("rejects an unknown backend", () => {
    expect(() => parseCliArgs(["--backend", "webgpu"])).toThrow(/unknown backend "webgpu"/);
  });

  it("rejects a seed that is not a non-negative integer", () => {
    for (const bad of ["--seed=-1", "--seed=1.5", "--seed=abc", "--seed=99999999999999999999"]) {
      expect(() => parseCliArgs([bad]), bad).toThrow(/--seed expects a non-negative integer/);
    }
  });

  it("rejects an option without its value", () => {
    expect(() => parseCliArgs(["--preset"])).toThrow(UsageError);
    expect(() => parseCliArgs(["--out", ""])).toThrow(/--out expects a folder path/);
  });

  it("rejects two suites", () => {
    expect(() => parseCliArgs(["ppl", "layers"])).toThrow(/at most one suite, received 2/);
  });

  it("rejects a value given to a boolean flag", () => {
    expect(() => parseCliArgs(["--resume=yes"])).toThrow(UsageError);
  });
});
