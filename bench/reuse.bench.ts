// `deno bench -A bench/`: the same contenders as `npm run bench`, one GET
// per iteration, against a local nginx (or node:http when nginx is absent).
// The "reuse" group answers issue 2 (session vs bare fetch on the same
// keep-alive vs no reuse at all); the "cookies" group the cookie fast path;
// the "post" group a JSON POST.
// For both runtimes side by side, with 32 in flight, use `npm run bench`.
import { contenders } from "./contenders.ts";
import { startServer } from "./server.mjs";
import { Session } from "../mod.ts";

const server = await startServer();
console.log(`server: ${server.kind} at ${server.url}`);
globalThis.addEventListener("unload", () => void server.close());

const groups: Record<string, string> = {
  "fetch": "reuse",
  "fetch, Connection: close": "reuse",
  "Session (no cookies)": "reuse",
  "fetch + tough-cookie by hand": "cookies",
  "Session (live jar)": "cookies",
  "Session (1,000-cookie jar)": "cookies",
  "Session (rotating cookie)": "cookies",
};

for (const c of contenders) {
  const { call } = c.setup(server.url);
  Deno.bench({
    name: c.name,
    group: groups[c.name] ?? "other",
    baseline: c.name === "fetch" || c.name === "fetch + tough-cookie by hand",
    fn: call,
  });
}

// The "post" group: a small JSON POST, bare and through a session (which
// also keeps Deno from sending it twice on a stale connection; see
// README, Behaviour under faults).
{
  const url = `${server.url}/plain`;
  const payload = { amount: 100, note: "x".repeat(50) };
  Deno.bench({
    name: "fetch, POST json",
    group: "post",
    baseline: true,
    fn: async () => {
      await (await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
      })).arrayBuffer();
    },
  });
  const s = new Session({ baseUrl: server.url });
  Deno.bench({
    name: "Session, POST json",
    group: "post",
    fn: async () => {
      await (await s.post("/plain", { json: payload })).arrayBuffer();
    },
  });
}
