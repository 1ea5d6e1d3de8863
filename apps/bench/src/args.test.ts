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

  it("refuses an option given twice instead of taking the last", () => {
    expect(() => parseCliArgs(["--preset", "smoke", "--preset=paper"])).toThrow(
      new UsageError('--preset given 2 times: "smoke", "paper"; give it once'),
    );
    expect(() => parseCliArgs(["--out", "a", "--seed", "1", "--out", "b"])).toThrow(/--out given 2 times/);
    expect(() => parseCliArgs(["--resume", "--resume"])).toThrow(
      new UsageError("--resume given 2 times; give it once"),
    );
  });

  it("accepts all as a suite", () => {
    expect(parseCliArgs(["all", "--preset", "paper"]).suite).toBe("all");
  });

  it("rejects an unknown suite and names the choices", () => {
    expect(() => parseCliArgs(["pp"])).toThrow(UsageError);
    expect(() => parseCliArgs(["pp"])).toThrow(
      /unknown suite "pp".*decompose, data, layers, ppl, model, pretrained, engine, pretrain, compress, eval, all/,
    );
  });

  it("takes --model for compress and eval, and --split / --max-tokens for eval", () => {
    expect(parseCliArgs(["compress", "--model", "m"]).pretrained).toEqual({ model: "m" });
    expect(
      parseCliArgs(["eval", "--model", "m", "--split", "test", "--max-tokens", "50"]).pretrained,
    ).toEqual({
      model: "m",
      split: "test",
      maxTokens: 50,
    });
  });

  it("takes --rows (a regular expression over row ids) for compress only", () => {
    const rows = parseCliArgs(["compress", "--rows", "^dense-small@"]).pretrained?.rows;
    expect(rows?.test("dense-small@7x#0")).toBe(true);
    expect(rows?.test("tt-aware@7x#0/ft-kd")).toBe(false);
    expect(() => parseCliArgs(["compress", "--rows", "(ft"])).toThrow(
      /--rows expects a regular expression, received "\(ft"/,
    );
    expect(() => parseCliArgs(["compress", "--rows", " "])).toThrow(/--rows expects a pattern/);
    expect(() => parseCliArgs(["eval", "--rows", "x"])).toThrow(/--rows: not an option of suite "eval"/);
  });

  it("takes --jobs N (1 to 64 worker processes) for compress only", () => {
    expect(parseCliArgs(["compress", "--jobs", "2"]).pretrained?.jobs).toBe(2);
    expect(() => parseCliArgs(["compress", "--jobs", "0"])).toThrow(
      /--jobs expects an integer >= 1, received "0"/,
    );
    expect(() => parseCliArgs(["compress", "--jobs", "two"])).toThrow(/--jobs expects an integer >= 1/);
    expect(() => parseCliArgs(["compress", "--jobs", "65"])).toThrow(
      /--jobs expects at most 64 .* received 65/,
    );
    expect(() => parseCliArgs(["ppl", "--jobs", "2"])).toThrow(/--jobs: not an option of suite "ppl"/);
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

  it("reads the pretrained suite's options", () => {
    const o = parseCliArgs([
      "pretrained",
      "--model",
      "models/gpt2",
      "--policies",
      "hybrid, budget",
      "--finetune-steps",
      "0",
      "--max-length=64",
      "--stride",
      "32",
      "--max-tokens",
      "100",
    ]);
    expect(o.suite).toBe("pretrained");
    expect(o.pretrained).toEqual({
      model: "models/gpt2",
      policies: ["hybrid", "budget"],
      finetuneSteps: 0,
      maxLength: 64,
      stride: 32,
      maxTokens: 100,
    });
    expect(parseCliArgs(["pretrained"]).pretrained).toBeUndefined();
    expect(parseCliArgs(["all", "--max-tokens", "5"]).pretrained).toEqual({ maxTokens: 5 });
  });

  it("rejects bad pretrained options, and pretrained options given to another suite", () => {
    const bad: [string[], RegExp][] = [
      [["pretrained", "--policies", "dense"], /unknown policy "dense".*uniform, hybrid, budget/],
      [["pretrained", "--policies", "hybrid,hybrid"], /lists a policy twice/],
      [["pretrained", "--policies", ""], /unknown policy ""/],
      [["pretrained", "--finetune-steps=-1"], /--finetune-steps expects an integer >= 0/],
      [["pretrained", "--max-length", "1"], /--max-length expects an integer >= 2/],
      [["pretrained", "--stride", "0"], /--stride expects an integer >= 1/],
      [["pretrained", "--max-tokens", "1e3"], /--max-tokens expects an integer >= 1/],
      [
        ["pretrained", "--max-length", "64", "--stride", "65"],
        /--stride \(65\) must not exceed --max-length \(64\)/,
      ],
      [["pretrained", "--model", " "], /--model expects a folder path/],
      [["ppl", "--model", "x", "--max-tokens", "9"], /--model, --max-tokens: not an option of suite "ppl"/],
      [["compress", "--max-tokens", "9"], /--max-tokens: not an option of suite "compress"/],
      [["pretrained", "--split", "test"], /--split: not an option of suite "pretrained"/],
      [["eval", "--split", "train"], /unknown split "train"; expected one of: valid, test/],
    ];
    for (const [argv, msg] of bad) {
      expect(() => parseCliArgs(argv), argv.join(" ")).toThrow(UsageError);
      expect(() => parseCliArgs(argv), argv.join(" ")).toThrow(msg);
    }
  });

  it("rejects a value given to a boolean flag", () => {
    expect(() => parseCliArgs(["--resume=yes"])).toThrow(UsageError);
  });
});
