/**
 * Runs one probe group (or one kill -9 loop) inside a child process started by run.mjs, as
 * `node --conditions=@tensor-tt/source --import tsx child.mjs group <name> [id...]` or `... kill9 <name>`.
 * Each result is printed as a line `@@PROBE <json>` (`@@KILL9 <json>`) as soon as it is known, so a crash or a
 * hang later in the group loses nothing already observed.
 */
import { writeSync } from "node:fs";
import { describeError, tempDir } from "./lib/judge.mjs";
import { packages } from "./lib/ws.mjs";

const [mode, name, ...only] = process.argv.slice(2);
const emit = (tag, obj) => writeSync(1, `${tag} ${JSON.stringify(obj)}\n`);

async function runGroup() {
  const group = await import(`./groups/${name}.mjs`);
  const pk = await packages();
  const tmp = tempDir(name);
  const ctx = { ...pk, tmp: tmp.dir };
  try {
    if (group.setup) await group.setup(ctx);
    for (const p of group.probes) {
      if (only.length > 0 && !only.includes(p.id)) continue;
      if (only.length === 0 && p.isolate) continue;
      const t0 = performance.now();
      let r;
      try {
        r = await p.run(ctx);
      } catch (e) {
        r = {
          held: false,
          observed: `the probe itself threw (probe bug or API change): ${describeError(e)}`,
        };
      }
      emit("@@PROBE", {
        id: p.id,
        held: r.held,
        observed: r.observed,
        ms: Math.round(performance.now() - t0),
      });
    }
  } finally {
    if (group.teardown) await group.teardown(ctx).catch(() => undefined);
    tmp.cleanup();
  }
}

async function runKill9() {
  const loop = await import(`./kill9/${name}.mjs`);
  const result = await loop.main();
  emit("@@KILL9", result);
}

async function runWorker() {
  const loop = await import(`./kill9/${name}.mjs`);
  await loop.worker(only);
}

const modes = { group: runGroup, kill9: runKill9, worker: runWorker };
modes[mode]().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
