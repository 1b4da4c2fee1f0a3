#!/usr/bin/env node
// `npm run bench:floor`: where a session's cost over bare fetch goes, step
// by step (see bench/floor.ts), on Deno and Bun, sequential and with 32 in
// flight. Every step runs in processes of its own (--processes N, default
// 3), each reporting the median of its paired ratios; the table gives the
// median over the processes and their range; then the Session against
// fetch sending the identical request (own client, signal, redirect
// "manual", Set-Cookie read, and on /live the server's cookie as a fixed
// Cookie header), measured the same way; and the Session with a caller's
// signal, a hook or a retry policy, against bare fetch. About 12 minutes.
//   --processes N   processes per cell   --pairs N   pairs per process (40)
//   --against DIR   also Session from another checkout (DIR/mod.ts)
//   --only-session  only the Session rows (with --against: an A/B)
//   --runtime NAME  Deno or Bun only
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { startServer } from "../bench/server.mjs";
import { bin, flag, option, root } from "./_cli.mjs";

const processes = Number(option("--processes", 3));
const pairs = Number(option("--pairs", 40));
const againstDir = option("--against", undefined);
const against = againstDir === undefined
  ? undefined
  : resolve(againstDir, "mod.ts");

spawnSync("bash", [join(root, "tools", "bench-setup.sh")], {
  stdio: "inherit",
});
const server = await startServer();

// [step, path, module, baseline]: baseline is the step the pairs are taken
// against, bare fetch when absent.
let steps = [
  ["own client", "/plain"],
  ["+ signal", "/plain"],
  ["+ Set-Cookie read", "/plain"],
  ["minimal session", "/plain"],
  ["Session", "/plain"],
  ["+ fixed Cookie", "/live"],
  ["minimal session", "/live"],
  ["Session", "/live"],
  ["Session + signal", "/plain"],
  ["Session + hook", "/plain"],
  ["Session + retry", "/plain"],
  ["Session", "/plain", undefined, "+ Set-Cookie read"],
  ["Session", "/live", undefined, "+ fixed Cookie"],
];
if (flag("--only-session")) {
  steps = steps.filter(([step]) => step.startsWith("Session"));
}
if (against) {
  steps = steps.flatMap((s) =>
    s[0].startsWith("Session") ? [s, [s[0], s[1], against, s[3]]] : [s]
  );
}
const runners = {
  Deno: (o) => [bin("deno"), ["run", "-A", "bench/floor.ts", o]],
  Bun: (o) => [bin("bun"), ["bench/floor.ts", o]],
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const lines = [];
/** One process's median ratio for a step. */
function measure(runner, label, [step, path, module, baseline], inflight) {
  const o = JSON.stringify({
    url: server.url,
    step,
    path,
    inflight,
    pairs,
    module,
    baseline,
  });
  const [cmd, argv] = runner(o);
  const r = spawnSync(cmd, argv, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const last = (r.stdout ?? "").trim().split("\n").pop();
  try {
    return JSON.parse(last).median;
  } catch {
    throw new Error(`${label} ${step}:\n${r.stdout}\n${r.stderr}`);
  }
}
try {
  const only = option("--runtime", undefined)?.toLowerCase();
  for (const [runtime, runner] of Object.entries(runners)) {
    if (only !== undefined && only !== runtime.toLowerCase()) continue;
    // Every step once per round, so that steps compared share the
    // machine's drift over minutes too.
    const got = steps.map(() => ({ 1: [], 32: [] }));
    for (let i = 0; i < processes; i++) {
      for (const inflight of [1, 32]) {
        steps.forEach((s, k) =>
          got[k][inflight].push(measure(runner, runtime, s, inflight))
        );
      }
      process.stderr.write(`${runtime}: round ${i + 1}/${processes}\n`);
    }
    lines.push("", `### ${runtime}`, "");
    lines.push("| step | path | sequential | 32 in flight |");
    lines.push("| --- | --- | ---: | ---: |");
    steps.forEach(([step, path, module, baseline], k) => {
      const cell = (xs) =>
        `${median(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${
          Math.max(...xs).toFixed(2)
        })`;
      const name = (module ? `${step} (${module})` : step) +
        (baseline ? ` ÷ identical fetch` : "");
      lines.push(
        `| ${name} | ${path} | ${cell(got[k][1])} | ${cell(got[k][32])} |`,
      );
    });
  }
} finally {
  await server.close();
}
console.log(
  `## Where the time goes: ratio to bare fetch of the same URL, or to fetch sending the identical request (${server.kind})`,
);
console.log(lines.join("\n"));
