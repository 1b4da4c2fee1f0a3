// Runs the contenders on this runtime (Deno or Bun) against a server started
// by tools/bench.mjs, alternating them, and prints one JSON line of samples.
//   run.ts '{"url":…,"reps":…,"seq":…,"conc":…,"inflight":…,"only":[…]}'
// With "soak": N it instead sends N requests through one session with a
// live jar and reports resident memory and open descriptors along the way;
// with "list": true it prints the contenders' names.
import process from "node:process";
import { readdirSync } from "node:fs";
import { contenders, measure, runtime } from "./contenders.ts";
import { Session } from "../mod.ts";

interface Options {
  url: string;
  reps: number;
  seq: number;
  conc: number;
  inflight: number;
  only?: string[];
  soak?: number;
  /** Print the contenders' names only. */
  list?: boolean;
}

const options = JSON.parse(process.argv[process.argv.length - 1]) as Options;

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

async function soak(count: number): Promise<void> {
  const s = new Session({ baseUrl: options.url });
  const points: Array<{ requests: number; rssMiB: number; fds: number }> = [];
  const mark = (requests: number) => {
    // Collect first (Deno runs with --expose-gc here), so that the figure
    // is what is kept, not what the collector has yet to visit.
    const g = globalThis as {
      gc?: () => void;
      Bun?: { gc(force: boolean): void };
    };
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    points.push({
      requests,
      rssMiB: Math.round(process.memoryUsage().rss / 1048576 * 10) / 10,
      fds: openFds(),
    });
  };
  const warm = Math.min(10_000, count / 10);
  const step = (count - warm) / 9;
  let done = 0;
  // 32 in flight, like the concurrent runs.
  const run = async (n: number) => {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        await (await s.get("/live")).arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    done += n;
  };
  await run(warm);
  mark(done);
  while (done < count) {
    await run(Math.min(step, count - done));
    mark(done);
  }
  await s.close();
  console.log(JSON.stringify({ runtime, soak: points }));
}

async function compare(): Promise<void> {
  const chosen = contenders.filter((c) =>
    !options.only || options.only.includes(c.name)
  );
  const live = chosen.map((c) => ({ c, ...c.setup(options.url) }));
  const base = live.find(({ c }) => c.name === "fetch");
  // Bare fetch of each path a contender asks for.
  const bare = new Map<string, () => Promise<void>>();
  for (const { c } of live) {
    const path = c.path ?? "/plain";
    if (bare.has(path)) continue;
    const url = `${options.url}${path}`;
    bare.set(path, async () => {
      await (await fetch(url)).arrayBuffer();
    });
  }
  const samples: Record<string, number[]> = {};
  // Each contender's rate over that of bare fetch of the same URL measured
  // right before or right after it: the machine's speed drifts from second
  // to second, and a pair measured back to back shares the drift.
  const ratios: Record<string, number[]> = {};
  // Warm-up: JIT (a few thousand calls before the optimising compilers
  // have taken the whole way), connections, jar.
  for (const { call } of live) {
    await measure(call, options.seq * 5, 1);
    await measure(call, options.conc * 5, options.inflight);
  }
  for (const call of bare.values()) {
    await measure(call, options.seq * 5, 1);
    await measure(call, options.conc * 5, options.inflight);
  }
  const modes = [
    ["seq", options.seq, 1],
    ["conc", options.conc, options.inflight],
  ] as const;
  for (let rep = 0; rep < options.reps; rep++) {
    // Rotate the order every repetition so that no contender always runs
    // right after the same neighbour.
    for (let k = 0; k < live.length; k++) {
      const { c, call } = live[(k + rep) % live.length];
      const cost = c.name.includes("Connection: close") ? 4 : 1;
      for (const [mode, count, inflight] of modes) {
        const n = Math.ceil(count / cost);
        if (base !== undefined && base.c !== c) {
          // The second of two runs back to back is not measured like the
          // first (the collector pays for the first's garbage, pools and
          // caches are warmer), so the pair's order alternates.
          const fetchFirst = rep % 2 === 0;
          const same = bare.get(c.path ?? "/plain")!;
          let fetchRate = fetchFirst ? await measure(same, n, inflight) : 0;
          const rate = await measure(call, n, inflight);
          if (!fetchFirst) fetchRate = await measure(same, n, inflight);
          (samples[`${c.name}|${mode}`] ??= []).push(rate);
          (ratios[`${c.name}|${mode}`] ??= []).push(rate / fetchRate);
        } else {
          (samples[`${c.name}|${mode}`] ??= []).push(
            await measure(call, n, inflight),
          );
        }
      }
    }
  }
  for (const { close } of live) await close();
  console.log(JSON.stringify({ runtime, samples, ratios }));
}

if (options.list) {
  console.log(
    JSON.stringify({ runtime, names: contenders.map((c) => c.name) }),
  );
} else if (options.soak) await soak(options.soak);
else await compare();
