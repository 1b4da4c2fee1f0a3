import { Buffer } from "node:buffer";
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Handler, type Seen, serve, type TestServer } from "./_server.ts";
import { until, within } from "./_wait.ts";
import {
  RedirectError,
  type RequestOptions,
  Session,
  SessionClosedError,
  TimeoutError,
  TooManyRedirectsError,
  type Transport,
} from "../mod.ts";

// /redirect/<status>/<path...> answers <status> with Location /<path...>;
// /set/<name>/<value>/<path...> also sets a cookie first.
const redirector: Handler = (req, res) => {
  const url = new URL(req.url!, "http://x");
  const m = url.pathname.match(/^\/redirect\/(\d{3})(\/.*)$/);
  if (m) {
    res.statusCode = Number(m[1]);
    res.setHeader("location", m[2] + url.search);
    res.end("moved");
    return;
  }
  const c = url.pathname.match(/^\/set\/([^/]+)\/([^/]+)\/(\d{3})(\/.*)$/);
  if (c) {
    res.setHeader("set-cookie", `${c[1]}=${c[2]}; Path=/`);
    res.statusCode = Number(c[3]);
    res.setHeader("location", c[4]);
    res.end();
    return;
  }
  if (url.pathname === "/to") {
    res.statusCode = 302;
    res.setHeader("location", url.searchParams.get("url")!);
    res.end();
    return;
  }
  res.end(req.body);
};

async function withServer(
  run: (s: TestServer) => Promise<void>,
  handler = redirector,
) {
  const server = await serve(handler);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

test("redirect: 301/302 turn POST into GET and drop the body and its headers", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    for (const status of [301, 302]) {
      const r = await s.post(`/redirect/${status}/end`, { json: { a: 1 } });
      assert.equal(r.status, 200);
      await r.text();
    }
    const hops = server.seen.filter((x) => x.url === "/end");
    assert.equal(hops.length, 2);
    for (const hop of hops) {
      assert.equal(hop.method, "GET");
      assert.equal(hop.body, "");
      assert.equal(hop.headers["content-type"], undefined);
      assert.equal(hop.headers["content-length"], undefined);
    }
  }));

test("redirect: 302 keeps PUT; 303 turns anything but HEAD into GET", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.put("/redirect/302/a", { body: "put-body" })).text();
    await (await s.put("/redirect/303/b", { body: "x" })).text();
    await (await s.head("/redirect/303/c")).body?.cancel();
    await (await s.delete("/redirect/303/d")).text();
    const at = (path: string) => server.seen.find((x) => x.url === path)!;
    assert.equal(at("/a").method, "PUT");
    assert.equal(at("/a").body, "put-body");
    assert.equal(at("/b").method, "GET");
    assert.equal(at("/b").body, "");
    assert.equal(at("/c").method, "HEAD");
    assert.equal(at("/d").method, "GET");
  }));

test("redirect: 307 and 308 keep the method and resend the body (string, FormData)", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.post("/redirect/307/a", { json: { keep: true } });
    assert.equal(await r.text(), '{"keep":true}');
    const fd = new FormData();
    fd.append("f", "v");
    await (await s.patch("/redirect/308/b", { body: fd })).text();
    const at = (path: string) => server.seen.find((x) => x.url === path)!;
    assert.equal(at("/a").method, "POST");
    assert.equal(at("/a").headers["content-type"], "application/json");
    assert.equal(at("/b").method, "PATCH");
    assert.match(at("/b").body, /name="f"\r\n\r\nv\r\n/);
    const boundary = at("/b").headers["content-type"]!.split("boundary=")[1];
    assert.ok(
      at("/b").body.includes(boundary),
      "content-type matches the resent body",
    );
  }));

test("redirect: a 307 with a one-shot stream body fails clearly instead of resending nothing", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("once"));
        c.close();
      },
    });
    await assert.rejects(s.post("/redirect/307/a", { body }), RedirectError);
    assert.equal(server.seen.some((x) => x.url === "/a"), false);
  }));

test("redirect: send() resends a prepared request's body on 307", () =>
  withServer(async (server) => {
    await using s = new Session();
    const req = new Request(`${server.origin}/redirect/307/a`, {
      method: "POST",
      body: "prepared",
    });
    const r = await s.send(req);
    assert.equal(await r.text(), "prepared");
  }));

test("redirect: cookies set on every hop are stored, and each hop's Cookie header comes from the jar", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/set/first/1/302/set/second/2/302/end");
    await r.text();
    const paths = server.seen.map((x) => [x.url, x.headers.cookie]);
    assert.deepEqual(paths, [
      ["/set/first/1/302/set/second/2/302/end", undefined],
      ["/set/second/2/302/end", "first=1"],
      ["/end", "first=1; second=2"],
    ]);
    assert.deepEqual(s.cookies.toObject(), { first: "1", second: "2" });
  }));

test("redirect: history holds the earlier hops, url the final URL; the caller's fragment is kept there, never sent", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/redirect/301/redirect/302/end#frag");
    assert.equal(r.url, `${server.origin}/end#frag`);
    assert.deepEqual(r.history.map((h) => h.status), [301, 302]);
    assert.deepEqual(r.history.map((h) => h.url), [
      `${server.origin}/redirect/301/redirect/302/end#frag`,
      `${server.origin}/redirect/302/end#frag`,
    ]);
    assert.ok(r.history.every((h) => h instanceof Response));
    assert.equal(await r.history[0].text(), "moved");
    assert.equal(r.redirected, false);
    const own = await s.get("/redirect/302/end%23x#mine");
    assert.equal(own.url, `${server.origin}/end%23x#mine`);
    await own.text();
    // Without a redirect too.
    const direct = await s.get("/page?q=1#section");
    assert.equal(direct.url, `${server.origin}/page?q=1#section`);
    await direct.text();
    assert.equal(server.seen.at(-1)!.url, "/page?q=1");
    // A fragment is never sent.
    assert.ok(server.seen.every((x) => !x.url.includes("#")));
  }));

test("redirect: maxRedirects rejects with TooManyRedirectsError; a loop ends the same way", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin, maxRedirects: 3 });
      await assert.rejects(s.get("/loop/a"), (error: unknown) => {
        assert.ok(error instanceof TooManyRedirectsError);
        assert.equal(error.history.length, 3);
        assert.equal(error.response?.status, 302);
        return true;
      });
      assert.equal(server.seen.length, 4);
      await assert.rejects(
        s.get("/loop/a", { maxRedirects: 0 }),
        TooManyRedirectsError,
      );
      assert.equal(server.seen.length, 5);
    },
    (req, res) => {
      res.statusCode = 302;
      res.setHeader("location", req.url === "/loop/a" ? "/loop/b" : "/loop/a");
      res.end();
    },
  ));

test("redirect: manual returns the 3xx as it is", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/redirect/302/end", { redirect: "manual" });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/end");
    assert.deepEqual(r.history, []);
    await r.text();
    assert.equal(server.seen.length, 1);
  }));

test("redirect: Authorization is kept on the same origin and dropped on another", async () => {
  const other = await serve((req, res) =>
    res.end(req.headers.authorization ?? "none")
  );
  try {
    await withServer(async (server) => {
      await using s = new Session({ baseUrl: server.origin, auth: ["u", "p"] });
      await (await s.get("/redirect/302/same")).text();
      assert.equal(
        server.seen[1].headers.authorization,
        `Basic ${btoa("u:p")}`,
      );
      const r = await s.get("/to", {
        params: { url: `${other.origin}/elsewhere` },
      });
      assert.equal(await r.text(), "none");
      assert.equal(other.seen[0].headers.authorization, undefined);
      const hand = await s.get("/to", {
        auth: null,
        headers: { authorization: "Bearer secret" },
        params: { url: `${other.origin}/elsewhere` },
      });
      assert.equal(await hand.text(), "none");
    });
  } finally {
    await other.close();
  }
});

test("redirect: a Location that is not http(s) is refused with a clear error", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    for (
      const target of [
        "file:///etc/passwd",
        "data:text/plain,hi",
        "javascript:alert(1)",
      ]
    ) {
      await assert.rejects(
        s.get("/to", { params: { url: target } }),
        (error: unknown) =>
          error instanceof RedirectError && /Refused/.test(error.message),
      );
    }
  }));

test("redirect: a redirect's body in history is kept up to 1 MiB, exactly", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      const r = await s.get("/big");
      await r.text();
      const kept = new Uint8Array(await r.history[0].arrayBuffer());
      assert.equal(kept.byteLength, 1 << 20);
      assert.ok(kept.every((b) => b === 0x61), "only bytes the server sent");
    },
    (req, res) => {
      if (req.url === "/big") {
        res.statusCode = 302;
        res.setHeader("location", "/end");
        // 1.5 MiB in 100 KiB chunks: the limit falls inside a chunk.
        const chunk = Buffer.alloc(100 * 1024, 0x61);
        for (let i = 0; i < 15; i++) res.write(chunk);
        res.end();
        return;
      }
      res.end("end");
    },
  ));

test("redirect: the hops share one connection, and every hop's cookie is stored, the last one's too", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      const r = await s.get("/start");
      assert.equal(await r.text(), "ok");
      assert.equal(r.url, `${server.origin}/end`);
      assert.deepEqual(r.history.map((h) => h.status), [302]);
      assert.equal(server.seen[1].headers.cookie, "hop=1");
      assert.deepEqual(s.cookies.toObject(), { hop: "1", end: "2" });
      assert.equal(server.connections, 1);
    },
    (req, res) => {
      if (req.url === "/start") {
        res.statusCode = 302;
        res.setHeader("set-cookie", "hop=1; Path=/");
        res.setHeader("location", "/end");
      } else res.setHeader("set-cookie", "end=2; Path=/");
      res.end("ok");
    },
  ));

test("redirect: a redirect whose body stalls is cut off by the timeout and by close(); the next hop is never sent", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      await assert.rejects(
        within(s.get("/stall-redirect", { timeout: 200 }), 5_000, "settled"),
        TimeoutError,
      );
      const t = new Session({ baseUrl: server.origin, timeout: null });
      const pending = t.get("/stall-redirect");
      await until(() => server.seen.length === 2, "the redirect arrived");
      await t.close();
      await assert.rejects(
        within(pending, 5_000, "settled"),
        SessionClosedError,
      );
      assert.equal(server.seen.some((x) => x.url === "/next"), false);
    },
    (req, res) => {
      if (req.url === "/stall-redirect") {
        res.writeHead(302, { location: "/next", "content-length": "100" });
        res.write("x"); // 99 bytes never come
        return;
      }
      res.end("next");
    },
  ));

// The matrix: each method that may carry a body × each kind of body and
// per-request setting × no redirect or each redirect status, sent plainly,
// with a signal of its own and with hooks, as the server sees every hop.

const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;
/** The cookie each response sets names the URL it answered, as a token. */
const token = (url: string) => url.replace(/\W/g, "_");
// The Content-Type the Fetch standard gives a string body: the session sets
// it on every runtime (Bun's fetch gives none).
const TEXT = "text/plain;charset=UTF-8";
const FORM = "application/x-www-form-urlencoded;charset=UTF-8";
const MULTIPART = [
  '--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nv',
  '--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"' +
  "\r\nContent-Type: text/x\r\n\r\nabc",
  "--B--",
].join("\r\n");

/** One kind of body or per-request setting, and what arrives of it. */
interface Kind {
  name: string;
  options: () => RequestOptions;
  /** The body and Content-Type, a multipart boundary written as `B`. */
  body: string;
  type: string | undefined;
  /** Headers the request's own settings change from the session's. */
  headers?: Record<string, string | undefined>;
  /** Sent after the jar's cookie, and after the session's query. */
  cookie?: string;
  query?: string;
}

function multipart(): FormData {
  const form = new FormData();
  form.append("f", "v");
  form.append("file", new Blob(["abc"], { type: "text/x" }), "a.txt");
  return form;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const KINDS: Kind[] = [
  { name: "none", options: () => ({}), body: "", type: undefined },
  {
    name: "json",
    options: () => ({ json: { a: "é" } }),
    body: '{"a":"é"}',
    type: "application/json",
  },
  {
    name: "form",
    options: () => ({ form: { a: "1" } }),
    body: "a=1",
    type: FORM,
  },
  { name: "string", options: () => ({ body: "str" }), body: "str", type: TEXT },
  { name: "empty", options: () => ({ body: "" }), body: "", type: TEXT },
  {
    name: "bytes",
    options: () => ({ body: bytes("bytes") }),
    body: "bytes",
    type: undefined,
  },
  {
    name: "buffer",
    options: () => ({ body: bytes("buffer").buffer }),
    body: "buffer",
    type: undefined,
  },
  {
    name: "params",
    options: () => ({ body: new URLSearchParams({ p: "q" }) }),
    body: "p=q",
    type: FORM,
  },
  {
    name: "blob",
    options: () => ({ body: new Blob(["bl"], { type: "text/x-b" }) }),
    body: "bl",
    type: "text/x-b",
  },
  {
    name: "untyped-blob",
    options: () => ({ body: new Blob(["bl"]) }),
    body: "bl",
    type: undefined,
  },
  {
    name: "form-data",
    options: () => ({ body: multipart() }),
    body: MULTIPART,
    type: "multipart/form-data; boundary=B",
  },
  {
    name: "own-type",
    options: () => ({ body: "x", headers: { "content-type": "text/own" } }),
    body: "x",
    type: "text/own",
  },
  {
    name: "no-headers",
    options: () => ({ json: [1], headers: null }),
    body: "[1]",
    type: "application/json",
    headers: { "x-session": undefined },
  },
  {
    name: "auth",
    options: () => ({ body: "x", auth: ["u", "p"] }),
    body: "x",
    type: TEXT,
    headers: { authorization: basic("u", "p") },
  },
  {
    name: "no-auth",
    options: () => ({ body: "x", auth: null }),
    body: "x",
    type: TEXT,
    headers: { authorization: undefined },
  },
  {
    name: "cookies",
    options: () => ({ body: "x", cookies: { once: "1" } }),
    body: "x",
    type: TEXT,
    cookie: "once=1",
  },
  {
    name: "query",
    options: () => ({ body: "x", params: { q: "1" } }),
    body: "x",
    type: TEXT,
    query: "&q=1",
  },
  {
    name: "header",
    options: () => ({ body: "x", headers: { "x-own": "o" } }),
    body: "x",
    type: TEXT,
    headers: { "x-own": "o" },
  },
];

/** What the server saw of a hop, a multipart boundary written as `B`. */
function arrived(x: Seen) {
  let type = x.headers["content-type"];
  let body = x.body;
  const boundary = type?.split("boundary=")[1];
  if (boundary) {
    type = type!.replace(boundary, "B");
    // Deno ends the last delimiter without CRLF, Bun with.
    body = body.replaceAll(boundary, "B").replace(/\r\n$/, "");
  }
  return {
    method: x.method,
    url: x.url,
    type,
    body,
    cookie: x.headers.cookie,
    authorization: x.headers.authorization,
    "x-session": x.headers["x-session"],
    "x-own": x.headers["x-own"],
  };
}

/** How a hop's body was framed: its length in bytes, chunked, or neither. */
function framing(x: Seen): string {
  if (x.headers["transfer-encoding"]) return x.headers["transfer-encoding"];
  const length = x.headers["content-length"];
  if (length === undefined) return "none";
  return length === String(Buffer.byteLength(x.body)) ? "length" : length;
}

/**
 * Each hop with a body gives its length in bytes, never chunked; a hop made
 * a GET by its redirect gives no length; a request without a body, or with
 * an empty one, gives no length or Content-Length: 0 (as the runtime and the
 * method decide: undici sends none for a DELETE).
 */
function assertFramed(
  seen: Seen[],
  hops: Array<{ method: string }>,
  kind: Kind,
  what: string,
): void {
  for (const [i, x] of seen.entries()) {
    const dropped = i > 0 && hops[i].method !== hops[0].method;
    const allowed = dropped
      ? ["none"]
      : kind.name === "none" || kind.name === "empty"
      ? ["none", "length"]
      : ["length"];
    const got = framing(x);
    assert.ok(allowed.includes(got), `${what}, hop ${i + 1}: ${got}`);
  }
}

/**
 * The hops a case should arrive as. Each hop's Cookie comes from the jar,
 * which holds what the response to the hop before it (`before`) set.
 */
function expected(
  path: string,
  method: string,
  status: number,
  kind: Kind,
  before: Array<string | undefined>,
) {
  const query = `?sp=2${kind.query ?? ""}`;
  const hop = (url: string, method: string, sent: boolean, i: number) => ({
    method,
    url: url + query,
    type: sent ? kind.type : undefined,
    body: sent ? kind.body : "",
    cookie: [before[i] && `from=${token(before[i])}`, kind.cookie]
      .filter(Boolean).join("; ") || undefined,
    authorization: basic("su", "sp"),
    "x-session": "s",
    "x-own": undefined,
    ...kind.headers,
  });
  const first = hop(path, method, true, 0);
  if (!status) return [first];
  const again = status >= 307 || (status !== 303 && method !== "POST");
  const landed = path.replace(/\/go\/\d+\//, "/landed/");
  return [first, hop(landed, again ? method : "GET", again, 1)];
}

test("redirect: every method, body kind and per-request setting arrives as sent, alone or redirected by any status, with a signal or hooks too", async () => {
  const server = await serve((req, res) => {
    res.setHeader("set-cookie", `from=${token(req.url!)}; Path=/`);
    const m = req.url!.match(/\/go\/(\d+)\//);
    if (m) {
      res.statusCode = Number(m[1]);
      res.setHeader("location", req.url!.replace(/\/go\/\d+\//, "/landed/"));
    }
    res.end("answered");
  });
  // A signal or a hook of its own changes nothing that is sent.
  const hooks = {
    beforeRequest: [() => {}],
    afterResponse: [() => {}],
    beforeRedirect: [() => {}],
  };
  const ways: Array<[string, RequestOptions]> = [
    ["plain", {}],
    ["signal", { signal: new AbortController().signal }],
    ["hooks", { hooks }],
  ];
  try {
    for (const [way, own] of ways) {
      await using s = new Session({
        baseUrl: server.origin,
        headers: { "x-session": "s" },
        params: { sp: "2" },
        auth: ["su", "sp"],
      });
      const start = server.seen.length;
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        for (const status of [0, 301, 302, 303, 307, 308]) {
          for (const kind of KINDS) {
            const go = status ? `go/${status}/` : "";
            const path = `/${way}/${go}${method}/${kind.name}`;
            const what = `${method} ${status} ${kind.name} ${way}`;
            const from = server.seen.length;
            const r = await s.request(method, path, {
              ...kind.options(),
              ...own,
            });
            await r.arrayBuffer();
            assert.equal(r.status, 200, what);
            const history = r.history.map((h) => h.status);
            assert.deepEqual(history, status ? [status] : [], what);
            const seen = server.seen.slice(from);
            const before = [from > start ? server.seen[from - 1] : undefined]
              .concat(seen).map((x) => x?.url);
            const hops = expected(path, method, status, kind, before);
            assert.deepEqual(seen.map(arrived), hops, what);
            assertFramed(seen, hops, kind, what);
          }
        }
      }
    }
  } finally {
    await server.close();
  }
});

test("redirect: one whose body fails midway is still followed, and history keeps what was read of it", async () => {
  const transport: Transport = (hop) => {
    if (hop.url.endsWith("/next")) return Promise.resolve(new Response("end"));
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) {
          controller.enqueue(new TextEncoder().encode("partial"));
        } else controller.error(new Error("connection reset"));
      },
    });
    return Promise.resolve(
      new Response(body, { status: 302, headers: { location: "/next" } }),
    );
  };
  await using s = new Session({ transport });
  const r = await s.get("http://127.0.0.1:9/start");
  assert.equal(await r.text(), "end");
  assert.equal(await r.history[0].text(), "partial");
});
