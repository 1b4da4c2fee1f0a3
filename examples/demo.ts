/**
 * A tour of one session against a small server started right here: log in,
 * keep the session cookie, make authenticated requests, and count the TCP
 * connections the server saw.
 *
 * Run it with `npm run demo` (Deno) or `bun examples/demo.ts`.
 *
 * @module
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import { raiseForStatus, Session } from "../mod.ts";

// The embedded server: /login sets a session cookie, /me needs it and the
// API key header, /orders redirects to /orders/ like many real APIs do.
let connections = 0;
const sessions = new Set<string>();
const server = http.createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url!, "http://demo");
  const cookie = /(?:^|; )sid=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  };
  if (url.pathname === "/login" && req.method === "POST") {
    const { user, pass } = JSON.parse(body);
    if (user !== "ada" || pass !== "pw") return reply(403, { error: "no" });
    const sid = crypto.randomUUID();
    sessions.add(sid);
    res.setHeader("set-cookie", `sid=${sid}; Path=/; HttpOnly`);
    return reply(200, { welcome: true });
  }
  if (url.pathname === "/orders") {
    res.writeHead(301, { location: "/orders/" + url.search });
    return res.end();
  }
  if (!cookie || !sessions.has(cookie)) return reply(401, { error: "log in" });
  return reply(200, {
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    apiKey: req.headers["x-api-key"],
    userAgent: req.headers["user-agent"],
  });
});
server.on("connection", () => connections++);
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

{
  await using s = new Session({
    baseUrl: origin,
    headers: { "x-api-key": "demo-key", "user-agent": "fetchkit-demo/1" },
    params: { lang: "en" },
  });

  const login = await s.post("/login", { json: { user: "ada", pass: "pw" } });
  console.log("POST /login ->", login.status, await login.json());
  console.log("cookies kept:", s.cookies.toObject());

  const me = raiseForStatus(await s.get("/me"));
  console.log("GET /me ->", me.status, await me.json());

  const orders = await s.get("/orders", { params: { page: 2 } });
  console.log(
    "GET /orders ->",
    orders.status,
    "via",
    orders.history.map((h) => `${h.status} ${new URL(h.url).pathname}`),
    await orders.json(),
  );

  const anon = await s.get("/me", { cookies: { sid: null } });
  console.log("GET /me without the cookie ->", anon.status, await anon.json());

  console.log(`requests made: 5, TCP connections opened: ${connections}`);
}
// The session closed its connections when the block ended.
server.close();
console.log("session closed; server stopped");
