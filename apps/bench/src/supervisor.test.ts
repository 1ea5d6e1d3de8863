import { describe, expect, it } from "vitest";
import { workerNodeFlags } from "./supervisor.js";

describe("workerNodeFlags", () => {
  const loader = () => "file:///x/tsx/dist/loader.mjs";

  it("keeps the flags of `node --conditions=… --import tsx`", () => {
    expect(workerNodeFlags(["--conditions=@tensor-tt/source", "--import", "tsx"], loader)).toEqual([
      "--conditions=@tensor-tt/source",
      "--import",
      "tsx",
    ]);
  });

  it("drops the tsx CLI's preflight (it talks to the tsx parent) and debugger flags", () => {
    const execArgv = [
      "--require",
      "/m/tsx/dist/preflight.cjs",
      "--import",
      "file:///m/tsx/dist/loader.mjs",
      "--conditions=@tensor-tt/source",
      "--inspect=9229",
      "--max-old-space-size=8192",
    ];
    expect(workerNodeFlags(execArgv, loader)).toEqual([
      "--import",
      "file:///m/tsx/dist/loader.mjs",
      "--conditions=@tensor-tt/source",
      "--max-old-space-size=8192",
    ]);
  });

  it("adds the TypeScript loader and the source condition when they are missing", () => {
    expect(workerNodeFlags([], loader)).toEqual([
      "--conditions=@tensor-tt/source",
      "--import",
      "file:///x/tsx/dist/loader.mjs",
    ]);
  });

  it("does not take a path that merely contains tsx (a pnpm store folder) for the loader", () => {
    const vitest = ["--require", "/s/.pnpm/vitest@4_tsx@4.23.15/node_modules/vitest/suppress-warnings.cjs"];
    expect(workerNodeFlags(vitest, loader)).toEqual([
      "--conditions=@tensor-tt/source",
      ...vitest,
      "--import",
      "file:///x/tsx/dist/loader.mjs",
    ]);
    expect(workerNodeFlags(["--import=tsx", "-C", "x"], loader)).toEqual(["--import=tsx", "-C", "x"]);
  });
});
