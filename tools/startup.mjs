#!/usr/bin/env node
// `npm run bench:startup`: what a script pays before its first request.
// Times whole processes: an empty script, and one that imports the library,
// makes a Session and closes it (modules cached: one unmeasured run of each
// first), started in turn, the order rotating every round so that drift on
// this machine lands on every row alike. Prints per runtime the median and
// the middle half (25th–75th percentile) of each row, and the median of its
// excess over the empty script of the same round.
//   --runs N (20)   --runtime NAME (deno, bun or node)
//   --against DIR   a second checkout's Session, in the same rounds
//   --import SPEC   also a script that imports only SPEC (a bare name, a
//                   node: module or a path relative to the checkout); repeat
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { bin, every, option, root } from "./_cli.mjs";

const runs = Number(option("--runs", 20));
const only = option("--runtime", undefined)?.toLowerCase();
const against = option("--against", undefined);

const runners = {
  deno: (file) => [bin("deno"), [
    "run",
    "-A",
    "--config",
    join(root, "deno.json"),
    file,
  ]],
  bun: (file) => [bin("bun"), [file]],
  node: (file) => [bin("node"), [file]],
};

const sessionScript = (dir) => {
  const mod = pathToFileURL(join(resolve(dir), "mod.ts")).href;
  return `import { Session } from ${JSON.stringify(mod)};\n` +
    `const session = new Session();\nawait session.close();\n`;
};
const importScript = (spec) => {
  const target = spec.startsWith(".") || spec.startsWith("/")
    ? pathToFileURL(resolve(root, spec)).href
    : spec;
  return `import ${JSON.stringify(target)};\n`;
};

const rows = [["empty script", ""], ["Session", sessionScript(root)]];
if (against) rows.push([`Session (${against})`, sessionScript(against)]);
for (const spec of every("--import")) {
  rows.push([`import ${spec} only`, importScript(spec)]);
}
const files = rows.map(([, text], i) => {
  // Bare names resolve from the checkout's node_modules: the scripts live
  // beside it while they run, as a user's script would.
  const file = join(root, `.startup-${process.pid}-${i}.mjs`);
  writeFileSync(file, text);
  return file;
});

function time(kind, file) {
  const [cmd, argv] = runners[kind](file);
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${kind} ${file}:\n${r.stderr}`);
  return ms;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const low = Math.floor(at);
  return s[low] + (s[Math.ceil(at)] - s[low]) * (at - low);
};
const ms = (x) => `${x.toFixed(1)} ms`;

try {
  for (const kind of Object.keys(runners)) {
    if (only && only !== kind) continue;
    for (const file of files) time(kind, file);
    const taken = files.map(() => []);
    for (let round = 0; round < runs; round++) {
      for (let k = 0; k < files.length; k++) {
        const i = (k + round) % files.length;
        taken[i].push(time(kind, files[i]));
      }
    }
    console.log(`\n${kind}, ${runs} rounds`);
    console.log("| script | median | middle half | over empty |");
    console.log("| --- | ---: | ---: | ---: |");
    rows.forEach(([name], i) => {
      const over = taken[i].map((t, r) => t - taken[0][r]);
      console.log(
        `| ${name} | ${ms(quantile(taken[i], 0.5))} | ${
          ms(quantile(taken[i], 0.25))
        }–${ms(quantile(taken[i], 0.75))} | ${
          i === 0 ? "" : ms(quantile(over, 0.5))
        } |`,
      );
    });
  }
} finally {
  for (const file of files) rmSync(file, { force: true });
}
