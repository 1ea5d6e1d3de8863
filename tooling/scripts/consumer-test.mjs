#!/usr/bin/env node
/**
 * Consumer test (issue 14): install the four packages the way a user does and check that they compose.
 *
 * 1. `pnpm pack` each package (built first: `pnpm build`) into a temporary folder.
 * 2. For npm and for pnpm: a fresh project outside the workspace with the tarballs and the user's own TF.js
 *    (`--tfjs`, default 4.21.0: not the version the workspace develops with), installed from the registry.
 *    Checks: exit 0, no failed or ignored build script, exactly one @tensorflow/tfjs-core, no gpu.js / gl / webgpu.
 * 3. tooling/consumer/app.ts type-checks under module NodeNext without skipLibCheck (errors inside TF.js's own
 *    declarations aside), then runs on the user's cpu backend without initEngine; no-backend.mjs checks the error
 *    a program without any backend gets.
 * 4. esbuild --bundle --platform=browser of tooling/consumer/browser-entry.js (all four packages) and of a
 *    ttSvd-only entry, TF.js external: sizes minified and min+gzip; the ttSvd-only bundle must stay under 80 KiB.
 * 5. Time to import @tensor-tt/tt-transformer-hybrid in Node (median of 5 fresh processes), reported.
 * 6. The example of each package README (its one ```ts example block) type-checks with app.ts and runs as written.
 *
 * Usage: node tooling/scripts/consumer-test.mjs [--keep] [--only npm|pnpm] [--tfjs 4.21.0]
 * Writes a JSON summary to reports/consumer/summary.json.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const keep = args.includes("--keep");
const only = flag("--only", undefined);
const tfjs = flag("--tfjs", "4.21.0");
const PACKAGES = ["tt-core", "tt-layers", "tt-transformer-hybrid", "datasets"];
const work = mkdtempSync(join(tmpdir(), "tt-consumer-"));
const summary = { tfjs, managers: {}, bundles: {} };
let failures = 0;

function run(cmd, argv, cwd, { allowFail = false, env = {} } = {}) {
  const r = spawnSync(cmd, argv, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (r.status !== 0 && !allowFail) {
    console.error(out.slice(-4000));
    throw new Error(`${cmd} ${argv.join(" ")} exited ${r.status} in ${cwd}`);
  }
  return { status: r.status, out };
}

function fail(what) {
  failures++;
  console.error(`FAIL ${what}`);
}

function pass(what) {
  console.log(`ok   ${what}`);
}

/** package.json paths of every installed copy of a package under node_modules (pnpm store included). */
function copiesOf(dir, name) {
  const found = new Set();
  const walk = (d, depth) => {
    if (depth > 12 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory() || e.isSymbolicLink()) continue;
      const p = join(d, e.name);
      if (p.endsWith(join("node_modules", name))) {
        const pkg = join(p, "package.json");
        if (existsSync(pkg)) found.add(`${JSON.parse(readFileSync(pkg, "utf8")).version} ${p}`);
      }
      walk(p, depth + 1);
    }
  };
  walk(join(dir, "node_modules"), 0);
  return [...found];
}

function pack() {
  const dest = join(work, "tarballs");
  mkdirSync(dest);
  const tarballs = {};
  for (const p of PACKAGES) {
    run("pnpm", ["pack", "--pack-destination", dest], join(root, "packages", p));
    const name = JSON.parse(readFileSync(join(root, "packages", p, "package.json"), "utf8")).name;
    const file = readdirSync(dest).find((f) => f.startsWith(name.replace("@", "").replace("/", "-")));
    tarballs[name] = join(dest, file);
    const list = run("tar", ["-tzf", tarballs[name]], dest).out.split("\n");
    const bad = list.filter((f) => /\.test\.|\/testing\//.test(f));
    if (bad.length > 0) fail(`${name} tarball holds test files: ${bad.slice(0, 3).join(", ")}`);
    else pass(`${name} tarball: ${list.filter(Boolean).length} files, no tests or test helpers`);
  }
  return tarballs;
}

function project(manager, tarballs) {
  const dir = join(work, `${manager}-app`);
  mkdirSync(dir);
  const deps = {
    "@tensorflow/tfjs-core": tfjs,
    "@tensorflow/tfjs-layers": tfjs,
    "@tensorflow/tfjs-backend-cpu": tfjs,
  };
  for (const [name, file] of Object.entries(tarballs)) deps[name] = `file:${file}`;
  const pkg = { name: `consumer-${manager}`, private: true, type: "module", dependencies: deps };
  // The tarballs depend on each other by version range; point those ranges at the tarballs too.
  const overrides = Object.fromEntries(Object.entries(tarballs).map(([n, f]) => [n, `file:${f}`]));
  if (manager === "npm") pkg.overrides = overrides;
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  if (manager === "pnpm") {
    const lines = ["overrides:", ...Object.entries(overrides).map(([n, f]) => `  "${n}": "${f}"`)];
    writeFileSync(join(dir, "pnpm-workspace.yaml"), `${lines.join("\n")}\n`);
  }
  for (const f of ["app.ts", "no-backend.mjs", "browser-entry.js", "browser-ttsvd.js", "tsconfig.json"]) {
    cpSync(join(root, "tooling", "consumer", f), join(dir, f));
  }
  for (const p of PACKAGES) {
    const readme = readFileSync(join(root, "packages", p, "README.md"), "utf8");
    const m = /```ts example\n([\s\S]*?)```/.exec(readme);
    if (!m) fail(`packages/${p}/README.md has no \`\`\`ts example block`);
    else writeFileSync(join(dir, `readme-${p}.ts`), `${m[1]}export {};\n`);
  }
  return dir;
}

function readmeExamples(manager, dir) {
  for (const p of PACKAGES) {
    const file = join("out", `readme-${p}.js`);
    if (!existsSync(join(dir, file))) continue;
    const r = run(process.execPath, [file], dir, { allowFail: true });
    if (r.status === 0) pass(`${manager}: README example of ${p} runs as written`);
    else fail(`${manager}: README example of ${p} exited ${r.status}:\n${r.out.slice(-1500)}`);
  }
}

function install(manager, dir) {
  const t0 = Date.now();
  const argv = manager === "npm" ? ["install", "--no-audit", "--no-fund"] : ["install"];
  const r = run(manager, argv, dir, { allowFail: true });
  const s = { installExit: r.status, installSeconds: (Date.now() - t0) / 1000 };
  if (r.status !== 0) fail(`${manager} install exited ${r.status}:\n${r.out.slice(-2000)}`);
  else pass(`${manager} install exit 0 (${s.installSeconds.toFixed(1)} s)`);
  if (/ERR_PNPM_IGNORED_BUILDS|Ignored build scripts|gyp ERR|npm error/i.test(r.out)) {
    fail(`${manager} install reported a build-script problem:\n${r.out.slice(-1500)}`);
  }
  const core = copiesOf(dir, "@tensorflow/tfjs-core");
  s.tfjsCoreCopies = core;
  if (core.length === 1) pass(`one @tensorflow/tfjs-core (${core[0].split(" ")[0]})`);
  else fail(`${core.length} copies of @tensorflow/tfjs-core: ${core.join("; ")}`);
  const extra = ["gpu.js", "gl", "webgpu"].flatMap((n) => copiesOf(dir, n));
  if (extra.length === 0) pass("no gpu.js, gl or webgpu installed");
  else fail(`unwanted packages: ${extra.join("; ")}`);
  return s;
}

function typecheckAndRun(manager, dir, s) {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = run(process.execPath, [tsc, "-p", "tsconfig.json"], dir, { allowFail: true });
  const errors = r.out.split("\n").filter((l) => /error TS\d+/.test(l));
  const ours = errors.filter(
    (l) => !/node_modules[\\/](\.pnpm[\\/][^\\/]+[\\/]node_modules[\\/])?@tensorflow[\\/]/.test(l),
  );
  s.typeErrors = { tensorTT: ours.length, tfjsOwn: errors.length - ours.length };
  if (ours.length === 0)
    pass(
      `NodeNext type check without skipLibCheck (${errors.length} errors inside TF.js's own .d.ts set aside)`,
    );
  else fail(`type errors:\n${ours.join("\n")}`);
  const app = run(process.execPath, [join("out", "app.js")], dir, { allowFail: true });
  process.stdout.write(`${app.out.trimEnd().replace(/^/gm, `  [${manager}] `)}\n`);
  if (app.status === 0 && /all checks passed/.test(app.out))
    pass(`${manager}: consumer app on the user's cpu backend`);
  else fail(`${manager}: consumer app exited ${app.status}`);
  const nb = run(process.execPath, ["no-backend.mjs"], dir, { allowFail: true });
  if (nb.status === 0) pass(`${manager}: no-backend error names the remedy`);
  else fail(`${manager}: no-backend check: ${nb.out}`);
}

function bundles(dir) {
  const esbuild = join(root, "node_modules", ".bin", "esbuild");
  const bin = existsSync(esbuild) ? esbuild : "esbuild";
  for (const [name, entry] of [
    ["all four packages", "browser-entry.js"],
    ["ttSvd only", "browser-ttsvd.js"],
  ]) {
    const out = join(dir, `bundle-${entry}`);
    const r = run(
      bin,
      [
        entry,
        "--bundle",
        "--platform=browser",
        "--format=esm",
        "--minify",
        "--external:@tensorflow/*",
        `--outfile=${out}`,
      ],
      dir,
      { allowFail: true },
    );
    if (r.status !== 0) {
      fail(`esbuild browser bundle of ${name}:\n${r.out.slice(-3000)}`);
      continue;
    }
    const bytes = readFileSync(out);
    const kib = { min: bytes.length / 1024, gzip: gzipSync(bytes, { level: 9 }).length / 1024 };
    summary.bundles[name] = { minKiB: +kib.min.toFixed(1), gzipKiB: +kib.gzip.toFixed(1) };
    pass(
      `browser bundle, ${name}: ${kib.min.toFixed(1)} KiB min, ${kib.gzip.toFixed(1)} KiB min+gzip (TF.js excluded)`,
    );
    if (name === "ttSvd only" && kib.min >= 80) fail(`ttSvd-only bundle ${kib.min.toFixed(1)} KiB ≥ 80 KiB`);
  }
}

function importTime(dir) {
  const code =
    "const t=performance.now();await import('@tensor-tt/tt-transformer-hybrid');console.log(performance.now()-t)";
  const ms = [];
  for (let i = 0; i < 5; i++)
    ms.push(Number(run(process.execPath, ["--input-type=module", "-e", code], dir).out.trim()));
  ms.sort((a, b) => a - b);
  summary.importHybridMs = { median: +ms[2].toFixed(0), all: ms.map((m) => +m.toFixed(0)) };
  pass(
    `import @tensor-tt/tt-transformer-hybrid: median ${ms[2].toFixed(0)} ms (${ms.map((m) => m.toFixed(0)).join(", ")})`,
  );
}

try {
  const tarballs = pack();
  for (const manager of ["npm", "pnpm"]) {
    if (only && only !== manager) continue;
    console.log(`\n== ${manager} project with the user's TF.js ${tfjs} ==`);
    const dir = project(manager, tarballs);
    const s = install(manager, dir);
    summary.managers[manager] = s;
    if (s.installExit !== 0) continue;
    typecheckAndRun(manager, dir, s);
    readmeExamples(manager, dir);
    if (manager === (only ?? "npm")) {
      bundles(dir);
      importTime(dir);
    }
  }
} finally {
  const out = join(root, "reports", "consumer");
  mkdirSync(out, { recursive: true });
  summary.failures = failures;
  writeFileSync(join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(failures === 0 ? "\nconsumer test: passed" : `\nconsumer test: ${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
