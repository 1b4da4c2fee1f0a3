import { Buffer } from "node:buffer";
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Handler, serve, type TestServer } from "./_server.ts";
import { RedirectError, Session, TooManyRedirectsError } from "../mod.ts";

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

test("redirect: history holds the earlier hops, url the final URL, fragment carried over", () =>
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
