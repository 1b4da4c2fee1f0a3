// What the policies cost on the happy path: the same GET and POST through a
// session with no policies, and with retries, hooks, a bearer function and
// progress callbacks all switched on (none of them firing a retry). Run with
// `deno bench -A bench/policies.bench.ts`; compare within one run.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { bearerAuth, Session } from "../mod.ts";

const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.end("x".repeat(100)));
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const plain = new Session({ baseUrl: origin });
const full = new Session({
  baseUrl: origin,
  retry: { limit: 2, methods: ["GET", "POST"] },
  auth: bearerAuth(() => "token"),
  hooks: {
    beforeRequest: [() => {}],
    afterResponse: [() => {}],
  },
  onDownloadProgress: () => {},
});
const body = "y".repeat(1000);

Deno.bench("GET, no policies", { group: "get", baseline: true }, async () => {
  await (await plain.get("/g")).text();
});
Deno.bench("GET, all policies on", { group: "get" }, async () => {
  await (await full.get("/g")).text();
});
Deno.bench(
  "POST 1 KB, no policies",
  { group: "post", baseline: true },
  async () => {
    await (await plain.post("/p", { body })).text();
  },
);
Deno.bench("POST 1 KB, all policies on", { group: "post" }, async () => {
  await (await full.post("/p", { body })).text();
});

globalThis.addEventListener("unload", () => {
  void plain.close();
  void full.close();
  server.close();
});
