// Requests without a body or with one held in memory, and without a signal
// or auth function, take the session's fast path (no Request object, no
// per-request timer). They must send exactly what the general path sends,
// and time out and close the same way.
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve } from "./_server.ts";
import { until, within } from "./_wait.ts";
import {
  ConnectionError,
  type RequestOptions,
  Session,
  SessionClosedError,
  TimeoutError,
} from "../mod.ts";

test("fast path: session headers, auth, params and per-request values", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      headers: { "x-session": "s" },
      auth: ["user", "pa:ss"],
      params: { lang: "en" },
    });
    s.cookies.set("jar", "1");
    await (await s.get("/a", {
      headers: { "x-once": "o" },
      params: { page: 2 },
      cookies: { once: "2" },
    })).arrayBuffer();
    await (await s.head("/b", { headers: { "x-session": null } }))
      .arrayBuffer();
    const [a, b] = server.seen;
    assert.equal(a.url, "/a?lang=en&page=2");
    assert.equal(a.method, "GET");
    assert.equal(a.headers["x-session"], "s");
    assert.equal(a.headers["x-once"], "o");
    assert.equal(a.headers.cookie, "jar=1; once=2");
    assert.equal(
      a.headers.authorization,
      `Basic ${btoa("user:pa:ss")}`,
    );
    assert.equal(b.method, "HEAD");
    assert.equal(b.url, "/b?lang=en");
    assert.equal(b.headers["x-session"], undefined);
    assert.equal(b.headers["x-once"], undefined);
    assert.equal(b.headers.cookie, "jar=1");
  } finally {
    await server.close();
  }
});

test("fast path: a redirect is followed with cookies of every hop", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.statusCode = 302;
      res.setHeader("set-cookie", "hop=1; Path=/");
      res.setHeader("location", "/end");
    } else res.setHeader("set-cookie", "end=2; Path=/");
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/start");
    assert.equal(await r.text(), "ok");
    assert.equal(r.url, `${server.origin}/end`);
    assert.deepEqual(r.history.map((h) => h.status), [302]);
    assert.equal(server.seen[1].headers.cookie, "hop=1");
    assert.deepEqual(s.cookies.toObject(), { hop: "1", end: "2" });
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("fast path: a server that never answers times out", async () => {
  const arrived = Promise.withResolvers<void>();
  const server = await serve(() => {
    arrived.resolve(); // and never answer
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 50 });
    await assert.rejects(s.get("/hang"), (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 50);
      assert.equal(error.request?.url, `${server.origin}/hang`);
      return true;
    });
    await arrived.promise;
  } finally {
    await server.close();
  }
});

test("fast path: close() rejects requests in flight", async () => {
  const arrived = Promise.withResolvers<void>();
  const server = await serve(() => {
    arrived.resolve();
  });
  try {
    const s = new Session({ baseUrl: server.origin });
    const pending = s.get("/hang");
    await arrived.promise;
    await s.close();
    await assert.rejects(pending, SessionClosedError);
    await assert.rejects(s.get("/after"), SessionClosedError);
  } finally {
    await server.close();
  }
});

test("fast path: a shorter timeout after a longer one still fires", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/quick") res.end("ok");
    // /hang never answers
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 60_000 });
    // The session's one timer is armed for a minute from now…
    await (await s.get("/quick")).text();
    // …and must be brought forward for this request.
    await assert.rejects(s.get("/hang", { timeout: 30 }), TimeoutError);
  } finally {
    await server.close();
  }
});

test("fast path: session headers changed between requests are seen, however they change", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    const sent = async () => {
      await (await s.get("/h")).arrayBuffer();
      return server.seen.at(-1)!.headers["x-h"];
    };
    assert.equal(await sent(), undefined);
    s.headers.set("x-h", "1");
    assert.equal(await sent(), "1");
    s.headers.append("x-h", "2");
    assert.equal(await sent(), "1, 2");
    s.headers.delete("x-h");
    assert.equal(await sent(), undefined);
    s.headers = new Headers({ "x-h": "replaced" });
    assert.equal(await sent(), "replaced");
    s.headers.delete("x-h");
    assert.equal(await sent(), undefined);
  } finally {
    await server.close();
  }
});

test("fast path: a relative path follows a baseUrl changed between requests", async () => {
  const one = await serve(echo);
  const two = await serve(echo);
  try {
    await using s = new Session({ baseUrl: `${one.origin}/v1/` });
    for (const base of [`${one.origin}/v1/`, `${two.origin}/v2/`]) {
      s.baseUrl = base;
      await (await s.get("items")).arrayBuffer();
      await (await s.get("items")).arrayBuffer();
    }
    assert.deepEqual(one.seen.map((r) => r.url), ["/v1/items", "/v1/items"]);
    assert.deepEqual(two.seen.map((r) => r.url), ["/v2/items", "/v2/items"]);
  } finally {
    await one.close();
    await two.close();
  }
});

test("fast path: the environment's proxy variables are read when the session is made", async () => {
  const origin = await serve(echo);
  // Nothing listens here: a request that used this proxy would fail.
  const dead = "http://127.0.0.1:9";
  // The test's own environment: no other proxy variable may decide it.
  const names = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]
    .flatMap((n) => [n, n.toUpperCase()]).concat("REQUEST_METHOD");
  const saved = new Map(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  try {
    await using before = new Session();
    process.env.HTTP_PROXY = dead;
    const r = await before.get(`${origin.origin}/direct`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    await using after = new Session({ timeout: 5_000 });
    await assert.rejects(
      after.get(`${origin.origin}/proxied`),
      ConnectionError,
    );
    assert.deepEqual(origin.seen.map((x) => x.url), ["/direct"]);
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
    await origin.close();
  }
});

test("fast path: a timeout gives up only the request past its deadline, and closes its socket", async () => {
  const hangClosed = Promise.withResolvers<void>();
  const server = await serve(async (req, res) => {
    if (req.url === "/hang") {
      req.socket.once("close", () => hangClosed.resolve());
      return; // never answers
    }
    // Answers only once the timed-out request's connection is gone, so the
    // other request must still be waiting, unharmed, when that happens.
    await hangClosed.promise;
    res.end("late");
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 10_000 });
    const late = s.get("/late");
    const hang = s.get("/hang", { timeout: 50 });
    await assert.rejects(hang, (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 50);
      return true;
    });
    const r = await late;
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "late");
    assert.deepEqual(server.seen.map((x) => x.url).sort(), ["/hang", "/late"]);
    assert.equal(server.connections, 2);
    // The session goes on: its one timer is armed again for later requests.
    await (await s.get("/after")).arrayBuffer();
    await assert.rejects(s.get("/hang", { timeout: 30 }), TimeoutError);
  } finally {
    await server.close();
  }
});

test("fast path: close() gives up every request in flight and closes every socket", async () => {
  let arrived = 0;
  const all = Promise.withResolvers<void>();
  const server = await serve(() => {
    if (++arrived === 3) all.resolve(); // and never answer
  });
  try {
    const s = new Session({ baseUrl: server.origin, timeout: null });
    const pending = ["/a", "/b", "/c"].map((path) => s.get(path));
    await all.promise;
    assert.equal(server.open, 3);
    await s.close();
    for (const p of pending) await assert.rejects(p, SessionClosedError);
    await server.allClosed();
    assert.equal(server.open, 0);
  } finally {
    await server.close();
  }
});

test("fast path: the pool counts requests sent and in flight", async () => {
  const answer = Promise.withResolvers<void>();
  const arrived = Promise.withResolvers<void>();
  const server = await serve(async (req, res) => {
    if (req.url === "/wait") {
      arrived.resolve();
      await answer.promise;
    }
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (let i = 0; i < 3; i++) await (await s.get("/x")).arrayBuffer();
    const pending = s.get("/wait");
    await arrived.promise;
    assert.deepEqual(s.pool.stats()[server.origin], {
      inFlight: 1,
      queued: 0,
      sent: 4,
      clientsCreated: 1,
      clientsAlive: 1,
    });
    answer.resolve();
    await (await pending).arrayBuffer();
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    assert.equal(server.seen.length, 4);
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("fast path with maxConnectionsPerOrigin: a request waiting for a slot times out, and close() fails the ones still waiting", async () => {
  const server = await serve((_req, res) => void res.end("body"));
  try {
    const s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const holder = await s.get("/hold"); // its unread body keeps the slot
    await assert.rejects(
      within(s.get("/queued", { timeout: 200 }), 5_000, "settled"),
      TimeoutError,
    );
    const waiting = s.get("/waiting", { timeout: null });
    await s.close();
    await assert.rejects(within(waiting, 5_000, "settled"), SessionClosedError);
    await holder.body?.cancel();
    assert.deepEqual(server.seen.map((x) => x.url), ["/hold"]);
  } finally {
    await server.close();
  }
});

test("fast path: a redirect whose body stalls is cut off by the timeout and by close()", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/stall-redirect") {
      res.writeHead(302, { location: "/next", "content-length": "100" });
      res.write("x"); // 99 bytes never come
      return;
    }
    res.end("next");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(
      within(s.get("/stall-redirect", { timeout: 200 }), 5_000, "settled"),
      TimeoutError,
    );
    const t = new Session({ baseUrl: server.origin, timeout: null });
    const pending = t.get("/stall-redirect");
    await until(() => server.seen.length === 2, "the redirect arrived");
    await t.close();
    await assert.rejects(within(pending, 5_000, "settled"), SessionClosedError);
    assert.equal(server.seen.some((x) => x.url === "/next"), false);
  } finally {
    await server.close();
  }
});

test("fast path: the response URL keeps the fragment the caller gave", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/page?q=1#section");
    await r.arrayBuffer();
    assert.equal(r.url, `${server.origin}/page?q=1#section`);
    assert.equal(server.seen[0].url, "/page?q=1");
  } finally {
    await server.close();
  }
});

/** What the server saw of a request's body and the headers that frame it. */
function framing(seen: { method: string; headers: Record<string, unknown> }[]) {
  return seen.map((x) => ({
    method: x.method,
    type: x.headers["content-type"],
    length: x.headers["content-length"],
    chunked: x.headers["transfer-encoding"],
  }));
}

test("fast path: bodies held in memory arrive as the general path sends them", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    const bytes = new TextEncoder().encode("..bytes..");
    const kinds: Array<[string, Parameters<Session["post"]>[1]]> = [
      ["json", { json: { amount: 100, note: "é" } }],
      ["form", { form: { a: "1", b: "x y" } }],
      ["string", { body: "plain text" }],
      ["bytes", { body: bytes }],
      ["view", { body: bytes.subarray(2, 7) }],
      ["params", { body: new URLSearchParams({ q: "1" }) }],
      ["blob", { body: new Blob(["blob"], { type: "text/x-blob" }) }],
      ["typed", { json: [1], headers: { "content-type": "application/x-t" } }],
    ];
    for (const [, init] of kinds) {
      // A signal of its own sends it the general way.
      await (await s.post("/fast", init)).arrayBuffer();
      await (await s.post("/general", {
        ...init,
        signal: new AbortController().signal,
      })).arrayBuffer();
    }
    const fast = server.seen.filter((x) => x.url === "/fast");
    const general = server.seen.filter((x) => x.url === "/general");
    assert.equal(fast.length, kinds.length);
    assert.deepEqual(framing(fast), framing(general));
    assert.deepEqual(fast.map((x) => x.body), general.map((x) => x.body));
    assert.deepEqual(fast.map((x) => x.body), [
      '{"amount":100,"note":"é"}',
      "a=1&b=x+y",
      "plain text",
      "..bytes..",
      "bytes",
      "q=1",
      "blob",
      "[1]",
    ]);
    assert.equal(fast[0].headers["content-type"], "application/json");
    assert.equal(fast[7].headers["content-type"], "application/x-t");
    // Every one with its length, none chunked.
    assert.ok(framing(fast).every((f) => f.length && !f.chunked));
    // FormData: a multipart body with its own boundary.
    const fd = new FormData();
    fd.append("field", "value");
    await (await s.put("/form-data", { body: fd })).arrayBuffer();
    const last = server.seen.at(-1)!;
    assert.match(String(last.headers["content-type"]), /^multipart\/form-data/);
    assert.match(last.body, /name="field"\r\n\r\nvalue/);
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("fast path: a body is sent again on a 307 or 308 and dropped on a 303 or a POST's 301/302", async () => {
  const server = await serve((req, res) => {
    const m = req.url!.match(/^\/go\/(\d+)$/);
    if (m) {
      res.statusCode = Number(m[1]);
      res.setHeader("location", "/landed");
      res.setHeader("set-cookie", `hop${m[1]}=1; Path=/`);
      res.end();
      return;
    }
    echo(req, res);
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const landed = async (status: number) => {
      const r = await s.post(`/go/${status}`, { json: { n: status } });
      const seen = await r.json();
      assert.deepEqual(r.history.map((h) => h.status), [status]);
      return seen as { method: string; body: string; headers: Headers };
    };
    for (const status of [307, 308]) {
      const seen = await landed(status);
      assert.equal(seen.method, "POST");
      assert.equal(seen.body, JSON.stringify({ n: status }));
    }
    for (const status of [301, 302, 303]) {
      const seen = await landed(status);
      assert.equal(seen.method, "GET");
      assert.equal(seen.body, "");
    }
    const gets = server.seen.filter((x) =>
      x.url === "/landed" && x.method === "GET"
    );
    assert.equal(gets.length, 3);
    for (const x of gets) {
      assert.equal(x.headers["content-type"], undefined);
      assert.equal(x.headers["content-length"], undefined);
    }
    // Each hop's cookie reached the next request.
    assert.match(String(server.seen.at(-1)!.headers.cookie), /hop303=1/);
  } finally {
    await server.close();
  }
});

test("fast path: a GET or HEAD with a body is refused with a TypeError before anything is sent", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(s.get("/x", { body: "no" }), {
      name: "TypeError",
      message: "A GET request cannot have a body",
    });
    await assert.rejects(s.request("head", "/x", { json: {} }), TypeError);
    await assert.rejects(
      s.post("/x", { json: {}, body: "both" }),
      /Give only one of json, form and body/,
    );
    // A hand-built one: Deno's Request refuses it, Bun's takes it; send
    // refuses it the same way.
    let built: Request | undefined;
    try {
      built = new Request(`${server.origin}/x`, { method: "GET", body: "no" });
    } catch (error) {
      assert.ok(error instanceof TypeError);
    }
    if (built !== undefined) {
      await assert.rejects(s.send(built), {
        name: "TypeError",
        message: "A GET request cannot have a body",
      });
    }
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

/**
 * A request as the server saw it, without what fetch adds on its own and
 * with a multipart boundary (random per body) written as `B`.
 */
function arrived(
  x: { method: string; url: string; headers: Record<string, unknown> },
  body: string,
) {
  const headers: Record<string, unknown> = {};
  for (const name of ["content-type", "content-length", "transfer-encoding"]) {
    headers[name] = x.headers[name];
  }
  for (const name of ["cookie", "authorization", "x-session", "x-own"]) {
    headers[name] = x.headers[name];
  }
  const boundary = String(headers["content-type"] ?? "").split("boundary=")[1];
  if (boundary) {
    headers["content-type"] = String(headers["content-type"]).replace(
      boundary,
      "B",
    );
    // The boundary's length is random too.
    headers["content-length"] = "multipart";
    body = body.split(boundary).join("B");
  }
  return {
    method: x.method,
    url: x.url.replace(/^\/(?:fast|general)\//, "/"),
    headers,
    body,
  };
}

test("fast path: every method, body, per-request setting and redirect arrives as the general path sends it", async () => {
  const server = await serve((req, res) => {
    const url = req.url!;
    // Every response sets a cookie that names the path it came from.
    const path = url.replace(/^\/(?:fast|general)\//, "").replace(/\W/g, "_");
    res.setHeader("set-cookie", `from=${path}; Path=/`);
    const m = url.match(/\/go\/(\d+)\//);
    if (m) {
      res.statusCode = Number(m[1]);
      res.setHeader("location", url.replace(/\/go\/\d+\//, "/landed/"));
      res.end("moved");
      return;
    }
    echo(req, res);
  });
  const kinds = (): Array<[string, RequestOptions]> => {
    const form = new FormData();
    form.append("f", "v");
    form.append("file", new Blob(["abc"], { type: "text/x" }), "a.txt");
    return [
      ["none", {}],
      ["json", { json: { a: "é" } }],
      ["form", { form: { a: "1" } }],
      ["string", { body: "str" }],
      ["empty", { body: "" }],
      ["bytes", { body: new TextEncoder().encode("bytes") }],
      ["buffer", { body: new TextEncoder().encode("buffer").buffer }],
      ["params", { body: new URLSearchParams({ p: "q" }) }],
      ["blob", { body: new Blob(["bl"], { type: "text/x-b" }) }],
      ["untyped-blob", { body: new Blob(["bl"]) }],
      ["form-data", { body: form }],
      ["own-type", { body: "x", headers: { "content-type": "text/own" } }],
      ["no-headers", { json: [1], headers: null }],
      ["auth", { body: "x", auth: ["u", "p"] }],
      ["no-auth", { body: "x", auth: null }],
      ["cookies", { body: "x", cookies: { once: "1" } }],
      ["params", { body: "x", params: { q: "1" } }],
      ["header", { body: "x", headers: { "x-own": "o" } }],
    ];
  };
  try {
    const outcomes = { fast: [] as unknown[], general: [] as unknown[] };
    for (const way of ["fast", "general"] as const) {
      await using s = new Session({
        baseUrl: server.origin,
        headers: { "x-session": "s" },
        params: { sp: "2" },
        auth: ["su", "sp"],
      });
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        for (const status of [0, 301, 302, 303, 307, 308]) {
          for (const [name, init] of kinds()) {
            const path = `/${way}/${
              status ? `go/${status}/` : ""
            }${method}/${name}`;
            const from = server.seen.length;
            // A signal of its own sends a request the general way.
            const r = await s.request(
              method,
              path,
              way === "general"
                ? { ...init, signal: new AbortController().signal }
                : init,
            );
            await r.arrayBuffer();
            outcomes[way].push({
              status: r.status,
              history: r.history.map((h) => h.status),
              seen: server.seen.slice(from).map((x) => arrived(x, x.body)),
            });
          }
        }
      }
    }
    assert.equal(outcomes.fast.length, 4 * 6 * kinds().length);
    for (let i = 0; i < outcomes.fast.length; i++) {
      assert.deepEqual(outcomes.fast[i], outcomes.general[i]);
    }
    // The comparison covers bodies sent again: a 307 of a FormData body.
    const replayed = server.seen.filter((x) =>
      x.method === "POST" && x.url.startsWith("/fast/landed/POST/form-data")
    );
    assert.equal(replayed.length, 2); // after the 307 and the 308
    assert.match(replayed[0].body, /name="file"; filename="a.txt"/);
  } finally {
    await server.close();
  }
});

test("fast path: a body's request fails as the general path's does (refused connection, timeout, close, bad json)", async () => {
  const gone = await serve(echo);
  const refused = gone.origin;
  await gone.close();
  const answers: Array<() => void> = [];
  const stalls = await serve((_req, res) =>
    new Promise<void>((resolve) => {
      answers.push(() => {
        res.end("late");
        resolve();
      });
    })
  );
  const kinds = (): RequestOptions[] => {
    const form = new FormData();
    form.append("a", "b");
    return [
      { json: { a: 1 } },
      { body: "s" },
      { body: "" },
      { body: new Blob(["b"]) },
      { body: new URLSearchParams("a=1") },
      { body: form },
    ];
  };
  const failure = (error: unknown) => {
    const e = error as Error & { request?: Request; cause?: Error };
    return [e.constructor.name, e.request?.method, e.request?.url, e.message];
  };
  try {
    const outcomes = { fast: [] as unknown[], general: [] as unknown[] };
    for (const way of ["fast", "general"] as const) {
      const own = way === "general"
        ? { signal: new AbortController().signal }
        : {};
      for (const method of ["POST", "PUT"]) {
        for (const init of kinds()) {
          await using s = new Session();
          outcomes[way].push(
            await s.request(method, `${refused}/x`, { ...init, ...own })
              .then(() => "sent", (e) => failure(e)[0]),
            await s.request(method, `${stalls.origin}/t`, {
              ...init,
              ...own,
              timeout: 50,
            }).then(() => "sent", failure),
          );
          const from = stalls.seen.length;
          const pending = s.request(method, `${stalls.origin}/c`, {
            ...init,
            ...own,
          }).then(() => "sent", failure);
          await until(() => stalls.seen.length > from, "the request arrived");
          await s.close();
          const last = stalls.seen.at(-1)!;
          outcomes[way].push(await pending, arrived(last, last.body).body);
          for (const answer of answers.splice(0)) answer();
        }
        await using s = new Session();
        outcomes[way].push(
          await s.request(method, refused, { ...own, json: 1n })
            .then(() => "sent", failure),
        );
      }
    }
    assert.deepEqual(outcomes.fast, outcomes.general);
    // What the first body (json, POST) met: not vacuous.
    const [refusedAs, timedOut, closed, arrivedBody] = outcomes.fast as [
      string,
      string[],
      string[],
      string,
    ];
    assert.equal(refusedAs, "ConnectionError");
    assert.deepEqual(timedOut.slice(0, 3), [
      "TimeoutError",
      "POST",
      `${stalls.origin}/t`,
    ]);
    assert.deepEqual(closed.slice(0, 3), [
      "SessionClosedError",
      "POST",
      `${stalls.origin}/c`,
    ]);
    assert.equal(arrivedBody, '{"a":1}');
  } finally {
    for (const answer of answers) answer();
    await stalls.close();
  }
});
