#!/usr/bin/env node
// `npm run bench:memory`: resident memory and open descriptors over 100,000
// GETs of /live (the server sets a cookie on every response), 32 in flight,
// through a Session with its live jar and through bare fetch doing the same
// requests (bench/memory.ts), each in a process of its own, the two in turn
// (--rounds N pairs, default 3, the first of a pair alternating), on Deno,
// Bun and Node. Prints, per runtime, median (min–max) over the rounds of:
// RSS at the end, the session's over bare fetch's of the same round, RSS
// growth from 20,000 requests to the end, and descriptors. A few minutes.
//   --rounds N   --count N (100000)   --every N (10000)   --inflight N (32)
//   --path P (/live)   --runtime NAME (deno, bun or node)   --node-server
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startServer } from "../bench/server.mjs";
import { bin, flag, option, root } from "./_cli.mjs";

const rounds = Number(option("--rounds", 3));
const count = Number(option("--count", 100_000));
const every = Number(option("--every", 10_000));
const inflight = Number(option("--inflight", 32));
const path = option("--path", "/live");
const only = option("--runtime", undefined)?.toLowerCase();
// Growth is taken from here to the end: the first requests (JIT, pools,
// the collector's heap sizing) are warm-up.
const warm = Math.min(2 * every, count);

const runners = {
  deno: (o) => [bin("deno"), [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    "bench/memory.ts",
    o,
  ]],
  bun: (o) => [bin("bun"), ["bench/memory.ts", o]],
  node: (o) => [bin("node"), ["--expose-gc", "bench/memory.ts", o]],
};

function measure(kind, url, mode) {
  const o = JSON.stringify({ url, mode, path, count, inflight, every });
  const [cmd, argv] = runners[kind](o);
  const r = spawnSync(cmd, argv, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 10 * 60 * 1000,
  });
  const last = (r.stdout ?? "").trim().split("\n").pop();
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${kind} ${mode}:\n${r.stdout}\n${r.stderr}`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const cell = (xs, digits = 1, unit = "") =>
  `${median(xs).toFixed(digits)}${unit} (${Math.min(...xs).toFixed(digits)}–${
    Math.max(...xs).toFixed(digits)
  })`;
const at = (run, requests) => run.points.find((p) => p.requests === requests);
const end = (run) => run.points[run.points.length - 1];

if (!flag("--node-server")) {
  spawnSync("bash", [join(root, "tools", "bench-setup.sh")], {
    stdio: "inherit",
  });
}
const server = await startServer({
  prefer: flag("--node-server") ? "node" : "nginx",
});
const started = Date.now();
const lines = [];
try {
  for (const kind of Object.keys(runners)) {
    if (only !== undefined && only !== kind) continue;
    const got = { session: [], bare: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ["session", "bare"] : ["bare", "session"];
      for (const mode of order) got[mode].push(measure(kind, server.url, mode));
      process.stderr.write(`${kind}: round ${round + 1}/${rounds}\n`);
    }
    const rss = (mode, point) => got[mode].map((r) => point(r).rssMiB);
    const growth = (mode) =>
      got[mode].map((r) => end(r).rssMiB - at(r, warm).rssMiB);
    const heap = (mode) => got[mode].map((r) => end(r).heapMiB);
    const fds = (mode) =>
      [
        ...new Set(
          got[mode].flatMap((r) => r.points.slice(1).map((p) => p.fds)),
        ),
      ]
        .sort((a, b) => a - b).join(", ");
    const ratios = got.session.map((r, i) =>
      end(r).rssMiB / end(got.bare[i]).rssMiB
    );
    const n = (x) => x.toLocaleString("en-US");
    // The runtime alone, with tough-cookie (the session), ready to send.
    const loaded = (mode) =>
      [
        got[mode].map((r) => r.loading.runtime),
        got[mode].map((r) => r.loading["tough-cookie"]),
        got[mode].map((r) => r.points[0].rssMiB),
      ].filter((xs) => xs[0] !== undefined).map((xs) => median(xs).toFixed(1))
        .join(" → ") + " MiB";
    lines.push("", `### ${got.session[0].runtime}`, "");
    lines.push(
      `| | RSS: runtime alone → with tough-cookie → before the first request | RSS at ${
        n(count)
      } | over bare ` +
        `fetch | RSS growth ${n(warm)}→${n(count)} | JS heap in use at ` +
        `${n(count)} | descriptors from ${n(every)} on | seconds |`,
    );
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
    for (const mode of ["session", "bare"]) {
      lines.push(
        `| ${mode === "session" ? "Session (live jar)" : "bare fetch"} | ${
          loaded(mode)
        } | ${cell(rss(mode, end), 1, " MiB")} | ${
          mode === "session" ? cell(ratios, 2, "×") : ""
        } | ${cell(growth(mode), 1, " MiB")} | ${
          cell(heap(mode), 1, " MiB")
        } | ${fds(mode)} | ${cell(got[mode].map((r) => r.seconds), 0)} |`,
      );
    }
    for (const key of ["rssMiB", "heapMiB"]) {
      for (const mode of ["session", "bare"]) {
        lines.push(
          "",
          `${mode}, ${key === "rssMiB" ? "RSS" : "JS heap in use"} (MiB) ` +
            `from 0, every ${every.toLocaleString("en-US")}: ` +
            got[mode].map((r) => r.points.map((p) => p[key]).join(" → "))
              .join("; "),
        );
      }
    }
  }
} finally {
  await server.close();
}
console.log(
  `## Memory: ${count.toLocaleString("en-US")} GETs of ${path}, ` +
    `${inflight} in flight, ${server.kind}; RSS after a forced collection, ` +
    `median (min–max) of ${rounds} processes each`,
);
console.log(lines.join("\n"));
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
