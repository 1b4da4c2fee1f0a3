// The peers, on Node, on the same workload as bench/run.ts: Node's fetch,
// the Session with its live jar, got + tough-cookie, and ky with
// tough-cookie through its hooks (ky has no jar of its own). Prints one JSON
// line of samples, like run.ts. Runs on the pinned Node, which strips types.
import * as http from "node:http";
import got from "got";
import { CookieJar } from "tough-cookie";
import { Session } from "../mod.ts";
import { kyWithJar } from "./contenders.ts";

const options = JSON.parse(process.argv[process.argv.length - 1]);
const base = options.url;

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

const contenders = [
  {
    name: "Node fetch",
    call: async () => {
      await (await fetch(`${base}/plain`)).arrayBuffer();
    },
  },
  (() => {
    const s = new Session({ baseUrl: base });
    return {
      name: "Session (live jar)",
      call: async () => {
        await (await s.get("/live")).arrayBuffer();
      },
      close: () => s.close(),
    };
  })(),
  (() => {
    const client = got.extend({
      cookieJar: new CookieJar(),
      agent: { http: agent },
      retry: { limit: 0 },
    });
    return {
      name: "got + tough-cookie",
      call: async () => {
        await client.get(`${base}/live`).buffer();
      },
    };
  })(),
  { name: "ky + tough-cookie", ...kyWithJar(base) },
];

async function measure(call, count, inflight) {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return count / ((performance.now() - started) / 1000);
}

const samples = {};
for (const { call } of contenders) {
  await measure(call, Math.ceil(options.seq / 4), 1);
  await measure(call, Math.ceil(options.conc / 4), options.inflight);
}
for (let rep = 0; rep < options.reps; rep++) {
  for (let k = 0; k < contenders.length; k++) {
    const { name, call } = contenders[(k + rep) % contenders.length];
    (samples[`${name}|seq`] ??= []).push(await measure(call, options.seq, 1));
    (samples[`${name}|conc`] ??= []).push(
      await measure(call, options.conc, options.inflight),
    );
  }
}
agent.destroy();
for (const { close } of contenders) await close?.();
console.log(
  JSON.stringify({ runtime: `Node ${process.versions.node}`, samples }),
);
