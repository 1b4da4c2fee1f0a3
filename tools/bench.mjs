#!/usr/bin/env node
// `npm run bench`: the cross-runtime comparison. Starts a local server
// (nginx when present, installed by tools/bench-setup.sh, else node:http),
// then runs bench/run.ts on Deno and on Bun and bench/peers.mjs on Node,
// several rounds in rotating order, and prints medians (min–max) of
// requests/second and their ratio to the same runtime's bare fetch.
// Then 100,000 requests through one session on each runtime, with resident
// memory and open descriptors along the way.
//   --rounds N   rounds (default 3)      --quick   fewer, shorter runs
//   --no-soak    skip the 100,000-request run   --node-server  skip nginx
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startServer } from "../bench/server.mjs";
import { bin, flag, option, root } from "./_cli.mjs";

const value = (name, fallback) => Number(option(name, fallback));
const quick = flag("--quick");
const rounds = value("--rounds", quick ? 1 : 3);
const soakCount = value("--soak", quick ? 20_000 : 100_000);

if (!flag("--node-server")) {
  spawnSync("bash", [join(root, "tools", "bench-setup.sh")], {
    stdio: "inherit",
  });
}
const server = await startServer({
  prefer: flag("--node-server") ? "node" : "nginx",
});

function version(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  return (r.stdout ?? "").split("\n")[0].trim();
}

function cpuModel() {
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(
      /^model name\s*:\s*(.*)$/m,
    );
    if (m) return m[1];
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

const runners = {
  deno: (o) => [bin("deno"), [
    "run",
    "-A",
    ...(o.soak ? ["--v8-flags=--expose-gc"] : []),
    "bench/run.ts",
    JSON.stringify(o),
  ]],
  bun: (o) => [bin("bun"), ["bench/run.ts", JSON.stringify(o)]],
  node: (o) => [bin("node"), ["bench/peers.mjs", JSON.stringify(o)]],
};

function run(kind, options) {
  const [cmd, argv] = runners[kind](options);
  const r = spawnSync(cmd, argv, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60 * 1000,
  });
  const last = (r.stdout ?? "").trim().split("\n").pop();
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${kind} bench failed:\n${r.stdout}\n${r.stderr}`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString("en-US");

const options = {
  url: server.url,
  // Many short pairs rather than a few long ones: a pair shares less drift
  // the shorter it is, and the median of many is steadier.
  reps: quick ? 4 : 12,
  seq: quick ? 100 : 200,
  conc: quick ? 300 : 600,
  inflight: 32,
};

const results = {}; // runtime -> key -> samples
const paired = {}; // runtime -> key -> ratios to a fetch run next to it
const order = ["deno", "bun", "node"];
const started = Date.now();
const keep = (out) => {
  const into = results[out.runtime] ??= {};
  for (const [key, xs] of Object.entries(out.samples)) {
    (into[key] ??= []).push(...xs);
  }
  const pairs = paired[out.runtime] ??= {};
  for (const [key, xs] of Object.entries(out.ratios ?? {})) {
    (pairs[key] ??= []).push(...xs);
  }
};
try {
  // On Deno and Bun each contender runs in a process of its own, with bare
  // fetch alone beside it: one process running them all mixes their
  // garbage, their connections (32 per contender) and the shapes the
  // runtime's fetch sees, and charges each with some of the others' cost.
  const names = run("deno", { ...options, list: true }).names;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < order.length; k++) {
      const kind = order[(k + round) % order.length];
      if (kind === "node") keep(run(kind, options));
      else {
        for (let i = 0; i < names.length; i++) {
          const name = names[(i + round) % names.length];
          if (name === "fetch") continue;
          keep(run(kind, { ...options, only: ["fetch", name] }));
        }
      }
      process.stderr.write(`round ${round + 1}/${rounds}: ${kind}\n`);
    }
  }

  const soaks = [];
  if (soakCount > 0 && !flag("--no-soak")) {
    for (const kind of ["deno", "bun"]) {
      soaks.push(run(kind, { ...options, soak: soakCount }));
    }
  }

  const lines = [];
  const say = (s = "") => lines.push(s);
  say(
    `## Benchmark: requests/second, median (min–max) of ${
      rounds * options.reps
    } runs (bare fetch: of all its runs)`,
  );
  say();
  say(
    `Server: ${server.kind} on 127.0.0.1, GET of a 3-byte body. ` +
      `Sequential: one request at a time; 32 in flight: 32 at once.`,
  );
  say(
    `Machine: ${cpus().length} CPUs (nproc), ${cpuModel()}; ` +
      `${version(bin("deno"), ["--version"])}, Bun ${
        version(bin("bun"), ["--version"])
      }, Node ${version(bin("node"), ["--version"]).replace(/^v/, "")}.`,
  );
  say(
    `On Deno and Bun each contender runs in a process of its own beside ` +
      `bare fetch, and its ratio is the median of each run's rate over that ` +
      `of a run of bare fetch to the same URL just before or just after it ` +
      `(pairs share the machine's drift; the order alternates), with the ` +
      `range of those ratios; on Node, the ratio of the medians.`,
  );
  for (const [runtime, data] of Object.entries(results)) {
    const isNode = runtime.startsWith("Node");
    const baseName = isNode ? "Node fetch" : "fetch";
    const base = {
      seq: median(data[`${baseName}|seq`]),
      conc: median(data[`${baseName}|conc`]),
    };
    say();
    say(`### ${runtime}`);
    say();
    say("| contender | sequential | ratio | 32 in flight | ratio |");
    say("| --- | ---: | ---: | ---: | ---: |");
    const names = [...new Set(Object.keys(data).map((k) => k.split("|")[0]))];
    for (const name of names) {
      const cell = (mode) => {
        const xs = data[`${name}|${mode}`];
        const rs = paired[runtime]?.[`${name}|${mode}`];
        const ratio = rs?.length
          ? `${median(rs).toFixed(2)}× (${Math.min(...rs).toFixed(2)}–${
            Math.max(...rs).toFixed(2)
          })`
          : `${(median(xs) / base[mode]).toFixed(2)}×`;
        return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${
          fmt(Math.max(...xs))
        }) | ${ratio}`;
      };
      say(`| ${name} | ${cell("seq")} | ${cell("conc")} |`);
    }
  }

  say();
  say("### Session (live jar) against ky + tough-cookie on the same runtime");
  say();
  say(
    "The median of each one's paired ratios to bare fetch, the Session's over ky's.",
  );
  say();
  say("| runtime | sequential | 32 in flight |");
  say("| --- | ---: | ---: |");
  for (const [runtime, pairs] of Object.entries(paired)) {
    if (!pairs["ky + tough-cookie|seq"]?.length) continue;
    const ratio = (mode) => {
      const ours = pairs[`Session (live jar)|${mode}`];
      const theirs = pairs[`ky + tough-cookie|${mode}`];
      return ours?.length && theirs?.length
        ? `${(median(ours) / median(theirs)).toFixed(2)}×`
        : "–";
    };
    say(`| ${runtime} | ${ratio("seq")} | ${ratio("conc")} |`);
  }

  const node = Object.entries(results).find(([r]) => r.startsWith("Node"));
  if (node) {
    say();
    say("### Session (live jar) against the peers (same workload)");
    say();
    say("| ours | peer on Node | sequential | 32 in flight |");
    say("| --- | --- | ---: | ---: |");
    for (const [runtime, data] of Object.entries(results)) {
      for (const peer of ["got + tough-cookie", "ky + tough-cookie"]) {
        const ratio = (mode) =>
          (median(data[`Session (live jar)|${mode}`]) /
            median(node[1][`${peer}|${mode}`])).toFixed(2);
        say(
          `| ${runtime} | ${peer} | ${ratio("seq")}× | ${ratio("conc")}× |`,
        );
      }
    }
  }

  if (soaks.length) {
    say();
    say(
      `### ${
        fmt(soakCount)
      } requests through one session (live jar, 32 in flight)`,
    );
    say();
    say("| runtime | after warm-up: requests, RSS, fds | end: RSS, fds |");
    say("| --- | --- | --- |");
    for (const s of soaks) {
      const first = s.soak[0];
      const last = s.soak[s.soak.length - 1];
      say(
        `| ${s.runtime} | ${
          fmt(first.requests)
        }, ${first.rssMiB} MiB, ${first.fds} | ${last.rssMiB} MiB, ${last.fds} (all: ${
          s.soak.map((p) => p.rssMiB).join(" → ")
        } MiB) |`,
      );
    }
  }
  say();
  say(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  console.log(lines.join("\n"));
} finally {
  await server.close();
}
