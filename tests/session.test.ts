import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve, withServer } from "./_server.ts";
import { until, within } from "./_wait.ts";
import {
  basicAuth,
  type Hop,
  Session,
  SessionClosedError,
  TimeoutError,
  type Transport,
} from "../mod.ts";

const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;

test("session: requests guide — session auth, session header and per-request header all arrive", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    s.auth = ["user", "pass"];
    s.headers.set("x-test", "true");
    const r = await s.get("/headers", { headers: { "x-test2": "true" } });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    const got = server.seen[0].headers;
    assert.equal(got.authorization, basic("user", "pass"));
    assert.equal(got["x-test"], "true");
    assert.equal(got["x-test2"], "true");
  }));

test("session: headers of any valid name arrive as fetch's own would, one named like an object's prototype too", () => {
  const raw: string[][] = [];
  return withServer(
    async (server) => {
      const headers = [["__proto__", "a"], ["constructor", "b"], [
        "cookie",
        "c=d",
      ]];
      await (await fetch(server.origin, { headers })).body?.cancel();
      await using s = new Session({ baseUrl: server.origin });
      s.headers.set("__proto__", "a");
      const r = await s.get("/", {
        headers: { constructor: "b" },
        cookies: { c: "d" },
      });
      await r.body?.cancel();
      const ours = (names: string[]) =>
        names.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
          .filter((n) => headers.some(([name]) => name === n)).sort();
      // A runtime's fetch may drop `__proto__` (Node's does); the session
      // sends what fetch does, and never less.
      assert.ok(ours(raw[0]).includes("constructor"));
      assert.deepEqual(ours(raw[1]), ours(raw[0]));
    },
    (req, res) => {
      raw.push(req.rawHeaders);
      res.end();
    },
  );
});

test("session: requests guide — a cookie set by the server is sent back on the next request", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      await (await s.get("/cookies/set/sessioncookie/123456789")).text();
      await (await s.get("/cookies")).text();
      assert.equal(server.seen[0].headers.cookie, undefined);
      assert.equal(server.seen[1].headers.cookie, "sessioncookie=123456789");
      assert.equal(s.cookies.get("sessioncookie"), "123456789");
    },
    (req, res) => {
      const m = req.url!.match(/^\/cookies\/set\/([^/]+)\/([^/]+)$/);
      if (m) res.setHeader("set-cookie", `${m[1]}=${m[2]}; Path=/`);
      res.end("ok");
    },
  ));

test("session: requests guide — per-request cookies are sent once and not persisted", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.get("/cookies", { cookies: { "from-my": "browser" } }))
      .text();
    await (await s.get("/cookies")).text();
    assert.equal(server.seen[0].headers.cookie, "from-my=browser");
    assert.equal(server.seen[1].headers.cookie, undefined);
    assert.equal(s.cookies.get("from-my"), undefined);
  }));

test("session: per-request values join or override the session's for one request only; null removes", () =>
  withServer(async (server) => {
    await using s = new Session({
      baseUrl: server.origin,
      headers: { "x-a": "session", "x-b": "session" },
      params: { lang: "en", page: 1 },
      auth: ["u", "p:ss"],
    });
    s.cookies.set("jar", "1");
    await (await s.get("/one", {
      headers: { "X-A": "request", "x-b": null },
      params: { page: 2, extra: ["a", "b"] },
      auth: null,
      cookies: { jar: null, once: "y" },
    })).text();
    await (await s.get("/two")).text();
    await (await s.head("/three", {
      headers: { "x-c": "request" },
      params: { more: 3 },
      cookies: { once: "z" },
    })).arrayBuffer();
    const [one, two, three] = server.seen;
    assert.equal(one.headers["x-a"], "request");
    assert.equal(one.headers["x-b"], undefined);
    assert.equal(one.headers.authorization, undefined);
    assert.equal(one.headers.cookie, "once=y");
    assert.equal(one.url, "/one?lang=en&page=2&extra=a&extra=b");
    assert.equal(two.headers["x-a"], "session");
    assert.equal(two.headers["x-b"], "session");
    assert.equal(two.headers.authorization, basic("u", "p:ss"));
    assert.equal(two.headers.cookie, "jar=1");
    assert.equal(two.url, "/two?lang=en&page=1");
    // The request's own values join the session's.
    assert.equal(three.method, "HEAD");
    assert.equal(three.url, "/three?lang=en&page=1&more=3");
    assert.equal(three.headers["x-a"], "session");
    assert.equal(three.headers["x-c"], "request");
    assert.equal(three.headers.cookie, "jar=1; once=z");
    assert.equal(three.headers.authorization, basic("u", "p:ss"));
  }));

test("session: settings changed after construction apply to later requests", () =>
  withServer(async (server) => {
    await using s = new Session();
    s.baseUrl = server.origin + "/api";
    s.headers.set("x-late", "1");
    s.params.set("k", "v");
    s.auth = ["late", "pw"];
    await (await s.get("items")).text();
    s.headers.delete("x-late");
    s.params.delete("k");
    s.auth = undefined;
    await (await s.get("/items")).text();
    const [a, b] = server.seen;
    assert.equal(a.url, "/api/items?k=v");
    assert.equal(a.headers["x-late"], "1");
    assert.equal(a.headers.authorization, basic("late", "pw"));
    assert.equal(b.url, "/api/items");
    assert.equal(b.headers["x-late"], undefined);
    assert.equal(b.headers.authorization, undefined);
  }));

test("session: every request reads the session's headers as they are then: set, appended, deleted, replaced", () =>
  withServer(async (server) => {
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
  }));

test("session: a relative path follows baseUrl changed to another origin between requests", async () => {
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

test("session: every verb sends its method", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    for (
      const verb of [
        "get",
        "head",
        "options",
        "delete",
        "post",
        "put",
        "patch",
      ] as const
    ) {
      const r = await s[verb]("/v");
      await r.body?.cancel();
    }
    await (await s.request("PROPFIND", "/v")).text();
    assert.deepEqual(
      server.seen.map((x) => x.method),
      ["GET", "HEAD", "OPTIONS", "DELETE", "POST", "PUT", "PATCH", "PROPFIND"],
    );
  }));

test("session: json, form and body arrive as sent, each with its Content-Length", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    await (await s.post("/json", { json: { a: 1, b: [true, null], c: "é" } }))
      .text();
    await (await s.post("/form", { form: { a: "1 2", tag: ["x", "y"] } }))
      .text();
    await (await s.put("/text", { body: "plain" })).text();
    await (await s.patch("/params", { body: new URLSearchParams({ q: "z" }) }))
      .text();
    await (await s.post("/blob", {
      body: new Blob(["blob!"], { type: "application/x-test" }),
    })).text();
    await (await s.post("/bytes", { body: new TextEncoder().encode("bytes") }))
      .text();
    await (await s.post("/json-ct", {
      json: [1],
      headers: { "content-type": "application/vnd.api+json" },
    })).text();
    const view = new TextEncoder().encode("..view..").subarray(2, 6);
    await (await s.post("/view", { body: view })).text();
    const [json, form, text, params, blob, bytes, jsonCt, viewed] = server.seen;
    assert.equal(json.body, '{"a":1,"b":[true,null],"c":"é"}');
    assert.equal(json.headers["content-type"], "application/json");
    assert.equal(form.body, "a=1+2&tag=x&tag=y");
    assert.match(
      form.headers["content-type"]!,
      /^application\/x-www-form-urlencoded/,
    );
    assert.equal(text.body, "plain");
    assert.equal(params.body, "q=z");
    assert.equal(blob.body, "blob!");
    assert.equal(blob.headers["content-type"], "application/x-test");
    assert.equal(bytes.body, "bytes");
    assert.equal(jsonCt.headers["content-type"], "application/vnd.api+json");
    // Only the bytes the view covers.
    assert.equal(viewed.body, "view");
    // A body held in memory goes with its length in bytes, never chunked.
    for (const x of server.seen) {
      const bytes = new TextEncoder().encode(x.body).byteLength;
      assert.equal(x.headers["content-length"], String(bytes), x.url);
      assert.equal(x.headers["transfer-encoding"], undefined, x.url);
    }
  }));

test("session: multipart FormData and a ReadableStream body arrive", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const fd = new FormData();
    fd.append("field", "value");
    fd.append("file", new Blob(["file-content"]), "a.txt");
    await (await s.post("/multipart", { body: fd })).text();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("chunk1-"));
        controller.enqueue(new TextEncoder().encode("chunk2"));
        controller.close();
      },
    });
    await (await s.post("/stream", { body: stream })).text();
    const [multipart, streamed] = server.seen;
    assert.match(
      multipart.headers["content-type"]!,
      /^multipart\/form-data; boundary=/,
    );
    assert.match(multipart.body, /name="field"\r\n\r\nvalue\r\n/);
    assert.match(multipart.body, /filename="a.txt"[\s\S]*file-content/);
    assert.equal(streamed.body, "chunk1-chunk2");
  }));

test("session: params — URL query kept, arrays repeat, null and undefined dropped", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin, params: { s: "1" } });
    await (await s.get("/p?own=1#frag", {
      params: { a: ["x", "y"], n: null, u: undefined, e: "a&b" },
    })).text();
    assert.equal(server.seen[0].url, "/p?own=1&s=1&a=x&a=y&e=a%26b");
  }));

test("session: relative URLs resolve against baseUrl's path", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: `${server.origin}/v1` });
    await (await s.get("/users")).text();
    await (await s.get("users/2?x=1")).text();
    await (await s.get(new URL(`${server.origin}/abs`))).text();
    await (await s.get(`${server.origin}/abs2`)).text();
    assert.deepEqual(server.seen.map((x) => x.url), [
      "/v1/users",
      "/v1/users/2?x=1",
      "/abs",
      "/abs2",
    ]);
  }));

test("session: prepare returns the request as it would be sent; send sends it", () =>
  withServer(async (server) => {
    await using s = new Session({
      baseUrl: server.origin,
      headers: { "x-s": "1" },
      auth: ["u", "p"],
      params: { p: "1" },
    });
    s.cookies.set("c", "jar");
    const req = await s.prepare("POST", "/prep", {
      json: { a: 1 },
      cookies: { once: "1" },
    });
    assert.ok(req instanceof Request);
    assert.equal(req.method, "POST");
    assert.equal(req.url, `${server.origin}/prep?p=1`);
    assert.equal(req.headers.get("x-s"), "1");
    assert.equal(req.headers.get("authorization"), basic("u", "p"));
    assert.equal(req.headers.get("cookie"), "c=jar; once=1");
    assert.equal(req.headers.get("content-type"), "application/json");
    assert.equal(server.seen.length, 0, "prepare sends nothing");
    const r = await s.send(req);
    assert.equal(r.status, 200);
    await r.text();
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].body, '{"a":1}');
    assert.equal(server.seen[0].headers.cookie, "c=jar; once=1");
    assert.equal(server.seen[0].headers.authorization, basic("u", "p"));
  }));

test("session: send keeps a hand-built body's Content-Length (not chunked) and gives it again on a 307", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      for (const method of ["PUT", "POST", "PATCH", "DELETE"]) {
        const r = await s.send(
          new Request(`${server.origin}/go`, { method, body: "hello" }),
        );
        assert.equal(r.status, 200);
        assert.deepEqual(r.history.map((h) => h.status), [307]);
        await r.text();
      }
      // A request without a body still goes without one.
      await (await s.send(
        new Request(`${server.origin}/end`, {
          method: "PUT",
        }),
      )).text();
      assert.deepEqual(
        server.seen.map((x) => [
          x.method,
          x.url,
          x.headers["content-length"],
          x.headers["transfer-encoding"],
          x.body,
        ]),
        [
          ...["PUT", "POST", "PATCH", "DELETE"].flatMap((m) => [
            [m, "/go", "5", undefined, "hello"],
            [m, "/end", "5", undefined, "hello"],
          ]),
          // fetch sends an empty PUT with Content-Length: 0.
          ["PUT", "/end", "0", undefined, ""],
        ],
      );
    },
    (req, res) => {
      if (req.url === "/go") {
        res.writeHead(307, { location: "/end" });
        res.end();
        return;
      }
      echo(req, res);
    },
  ));

test("session: send stores Set-Cookie from the response in the jar", () =>
  withServer(
    async (server) => {
      await using s = new Session();
      await (await s.send(new Request(`${server.origin}/x`))).text();
      assert.equal(s.cookies.get("fromSend", { domain: "127.0.0.1" }), "yes");
    },
    (_req, res) => {
      res.setHeader("set-cookie", "fromSend=yes");
      res.end();
    },
  ));

test("session: URL userinfo becomes Basic auth and leaves the URL", () =>
  withServer(async (server) => {
    await using s = new Session();
    const url = new URL(server.origin);
    url.username = "al ice";
    url.password = "p@ss";
    url.pathname = "/ui";
    await (await s.get(url.href)).text();
    assert.equal(server.seen[0].headers.authorization, basic("al ice", "p@ss"));
    assert.equal(server.seen[0].url, "/ui");
  }));

test("session: non-2xx does not throw; the response is a real Response with url and history", () =>
  withServer(
    async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      const r = await s.get("/missing");
      assert.ok(r instanceof Response);
      assert.equal(r.status, 404);
      assert.equal(r.ok, false);
      assert.equal(r.url, `${server.origin}/missing`);
      assert.deepEqual(r.history, []);
      assert.equal(await r.text(), "nope");
    },
    (_req, res) => {
      res.statusCode = 404;
      res.end("nope");
    },
  ));

test("session: bad input gets a clear error and nothing is sent", () =>
  withServer(async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    await using bare = new Session();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => bare.get("/relative"), /needs a baseUrl/],
      [() => bare.get("http://[bad"), /Invalid URL/],
      [() => bare.get("ftp://127.0.0.1/x"), /Unsupported URL scheme/],
      [
        () => s.get("/x", { headers: { "x-a": "v\r\nx-injected: 1" } }),
        /CR, LF or NUL/,
      ],
      [
        () => s.post("/x", { json: { n: 1n } }),
        /json value cannot be serialised/,
      ],
      [
        () => s.post("/x", { json: () => 1 }),
        /json value cannot be serialised/,
      ],
      [() => {
        const loop: Record<string, unknown> = {};
        loop.self = loop;
        return s.post("/x", { json: loop });
      }, /json value cannot be serialised/],
      [
        () => s.post("/x", { json: 1, body: "x" }),
        /only one of json, form and body/,
      ],
      [
        () => s.post("/x", { form: { a: "1" }, body: "x" }),
        /only one of json, form and body/,
      ],
      [() => s.get("/x", { timeout: -1 }), /timeout must be/],
      [() => s.get("/x", { maxRedirects: 1.5 }), /maxRedirects must be/],
      [
        () => s.get("/x", { cookies: { a: "1;b=2" } }),
        /Invalid value for cookie/,
      ],
    ];
    for (const [run, message] of cases) {
      await assert.rejects(run, (error: Error) => {
        assert.ok(
          error instanceof TypeError || error instanceof RangeError,
          String(error),
        );
        assert.match(error.message, message);
        return true;
      });
    }
    // A GET or HEAD cannot carry a body, however it is given.
    await assert.rejects(s.get("/x", { body: "no" }), {
      name: "TypeError",
      message: "A GET request cannot have a body",
    });
    await assert.rejects(s.request("head", "/x", { json: {} }), {
      name: "TypeError",
      message: "A HEAD request cannot have a body",
    });
    // Deno's Request refuses a GET with a body; Bun's makes one, which send
    // refuses the same way.
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
    assert.throws(
      () => new Session({ baseUrl: "not a url" }),
      /Invalid baseUrl/,
    );
    assert.throws(
      () => new Session({ baseUrl: "file:///tmp/" }),
      /http or https/,
    );
    assert.throws(() => new Session({ timeout: 0 }), RangeError);
    assert.throws(() => new Session({ headers: [["x-a", "a\nb"]] }), TypeError);
    assert.throws(() => {
      s.maxRedirects = -1;
    }, RangeError);
    assert.equal(server.seen.length, 0, "nothing reached the server");
  }));

test("session: with baseUrl, an absolute URL to another origin is refused unless allowed", async () => {
  const home = await serve(echo);
  const other = await serve(echo);
  try {
    await using s = new Session({ baseUrl: home.origin, auth: ["u", "p"] });
    await assert.rejects(s.get(`${other.origin}/steal`), /allowAbsoluteUrls/);
    await assert.rejects(
      s.get(`//127.0.0.1:${other.port}/steal`),
      /allowAbsoluteUrls/,
    );
    assert.equal(other.seen.length, 0);
    await (await s.get(`${home.origin}/same`)).text();
    assert.equal(home.seen.length, 1);
    s.allowAbsoluteUrls = true;
    await (await s.get(`${other.origin}/allowed`)).text();
    assert.equal(other.seen.length, 1);
  } finally {
    await home.close();
    await other.close();
  }
});

test("session: URL errors quote the URL without its credentials, query or fragment", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    await using bare = new Session();
    const cases: Array<() => Promise<unknown>> = [
      () => s.get("https://user:hunter2@elsewhere.test/x?token=SECRET"),
      () => bare.get("http://user:hunter2@[bad/x?token=SECRET"),
      () => bare.get("relative/x?token=SECRET#SECRET"),
      // Shapes the URL parser also reads userinfo from.
      () => s.get("http:\\\\u:hunter2@elsewhere.test/"),
      () => s.get("http:/\\u:hunter2@elsewhere.test/"),
      () => s.get("http:///u:hunter2@elsewhere.test/"),
      () => bare.get("http:u:hunter2@[bad/x"),
      () => s.get(`/${"a".repeat(40_000)}?token=SECRET`),
    ];
    for (const run of cases) {
      await assert.rejects(run, (error: Error) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.ok(!error.message.includes("hunter2"), error.message);
        assert.ok(!error.message.includes("SECRET"), error.message);
        return true;
      });
    }
    assert.throws(
      () => new Session({ baseUrl: "http://user:hunter2@[bad/?token=SECRET" }),
      (error: Error) =>
        !error.message.includes("hunter2") && !error.message.includes("SECRET"),
    );
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test("session: cookies: null keeps every jar cookie out of one request, redirects included", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/hop") {
      res.statusCode = 302;
      res.setHeader("location", "/landed");
    }
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    s.cookies.set("sid", "abc");
    await (await s.get("/none", { cookies: null })).text();
    await (await s.get("/hop", { cookies: null })).text();
    await (await s.get("/back")).text();
    assert.deepEqual(server.seen.map((x) => [x.url, x.headers.cookie]), [
      ["/none", undefined],
      ["/hop", undefined],
      ["/landed", undefined],
      ["/back", "sid=abc"],
    ]);
  } finally {
    await server.close();
  }
});

test("session: credentials order — request auth, then URL userinfo, then session auth", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ auth: ["session", "s"] });
    const url = new URL(`${server.origin}/who`);
    url.username = "inurl";
    url.password = "u";
    await (await s.get(url.href)).text();
    await (await s.get(url.href, { auth: ["request", "r"] })).text();
    await (await s.get(`${server.origin}/who`)).text();
    assert.deepEqual(server.seen.map((x) => x.headers.authorization), [
      basic("inurl", "u"),
      basic("request", "r"),
      basic("session", "s"),
    ]);
  } finally {
    await server.close();
  }
});

test("session: send gives every kind of body again on a 307, a 308 and a retry, reading a stream once; a bodiless request stays bodiless", () => {
  let flaky = 0;
  return withServer(
    async (server) => {
      await using s = new Session({
        retry: {
          limit: 1,
          methods: ["POST", "PUT", "PATCH"],
          statusCodes: [503],
          backoff: () => 0,
        },
      });
      let pulls = 0;
      const kinds: Array<[string, () => BodyInit, RegExp]> = [
        ["string", () => "a string", /^a string$/],
        ["bytes", () => new TextEncoder().encode("bytes"), /^bytes$/],
        ["blob", () => new Blob(["a blob"]), /^a blob$/],
        ["params", () => new URLSearchParams("a=1"), /^a=1$/],
        ["form-data", () => {
          const form = new FormData();
          form.append("a", "b");
          return form;
        }, /name="a"\r\n\r\nb\r\n/],
        ["stream", () =>
          new ReadableStream({
            pull(controller) {
              pulls++;
              controller.enqueue(new TextEncoder().encode("a stream"));
              controller.close();
            },
          }), /^a stream$/],
      ];
      for (const method of ["POST", "PUT", "PATCH"]) {
        for (const [name, make, expected] of kinds) {
          for (const path of ["/go/307", "/go/308", "/flaky"]) {
            const from = server.seen.length;
            const r = await s.send(
              new Request(`${server.origin}${path}`, {
                method,
                body: make(),
                duplex: "half",
              } as RequestInit),
            );
            await r.arrayBuffer();
            const what = `${method} ${name} ${path}`;
            assert.equal(r.status, 200, what);
            const seen = server.seen.slice(from);
            assert.equal(seen.length, 2, what);
            for (const x of seen) {
              assert.equal(x.method, method, what);
              assert.match(x.body, expected, what);
              if (name !== "stream") {
                assert.equal(x.headers["transfer-encoding"], undefined, what);
              }
              if (name === "form-data") {
                const boundary = String(x.headers["content-type"])
                  .split("boundary=")[1];
                assert.ok(x.body.startsWith(`--${boundary}`), what);
              }
            }
          }
        }
      }
      // Each stream was read once, however often its body was sent.
      assert.equal(pulls, 9);
      for (const method of ["GET", "HEAD", "OPTIONS", "DELETE"]) {
        const from = server.seen.length;
        await (await s.send(
          new Request(`${server.origin}/go/307`, { method }),
        )).arrayBuffer();
        const seen = server.seen.slice(from);
        assert.deepEqual(seen.map((x) => [x.method, x.url, x.body]), [
          [method, "/go/307", ""],
          [method, "/end", ""],
        ]);
        // Bun sends an empty OPTIONS or DELETE with Content-Length: 0.
        for (const x of seen) {
          assert.ok([undefined, "0"].includes(x.headers["content-length"]));
          assert.equal(x.headers["transfer-encoding"], undefined);
        }
      }
    },
    (req, res) => {
      if (req.url!.startsWith("/go/")) {
        res.writeHead(Number(req.url!.slice(4)), { location: "/end" });
        res.end();
        return;
      }
      if (req.url === "/flaky" && flaky++ % 2 === 0) {
        res.writeHead(503);
        res.end();
        return;
      }
      echo(req, res);
    },
  );
});

test("session: a FormData body goes whole under its own boundary through an auth function and hooks", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: basicAuth("u", "p"),
      hooks: { beforeRequest: [(r) => new Request(r, { headers: r.headers })] },
    });
    const form = new FormData();
    form.append("field", "value");
    await (await s.post("/form", { body: form })).arrayBuffer();
    const [seen] = server.seen;
    const type = String(seen.headers["content-type"]);
    const boundary = type.match(/boundary=(.+)$/)?.[1];
    assert.ok(boundary, type);
    assert.match(seen.body, new RegExp(`^--${boundary}\\r\\n`));
    assert.match(seen.body, /name="field"\r\n\r\nvalue/);
    assert.equal(seen.headers["transfer-encoding"], undefined);
    assert.equal(Number(seen.headers["content-length"]), seen.body.length);
    assert.equal(seen.headers.authorization, `Basic ${btoa("u:p")}`);
  } finally {
    await server.close();
  }
});

/** A transport that keeps every hop and answers none until it is aborted. */
function hangingTransport(): { transport: Transport; hops: Hop[] } {
  const hops: Hop[] = [];
  const transport: Transport = (hop) =>
    new Promise((_, reject) => {
      hops.push(hop);
      hop.signal.addEventListener("abort", () => reject(hop.signal.reason));
    });
  return { transport, hops };
}

test("session: send() closed while it reads the request's body sends nothing and rejects with SessionClosedError", async () => {
  const { transport, hops } = hangingTransport();
  const s = new Session({ transport });
  const sent = s.send(
    new Request("http://127.0.0.1:9/x", { method: "POST", body: "abc" }),
  );
  const closing = s.close();
  await within(
    assert.rejects(sent, SessionClosedError),
    5_000,
    "send() after close",
  );
  await closing;
  assert.equal(hops.length, 0);
});

test("session: send() is given up by the request's own signal, as fetch would be", async () => {
  const { transport, hops } = hangingTransport();
  await using s = new Session({ transport });
  const controller = new AbortController();
  const sent = s.send(
    new Request("http://127.0.0.1:9/x", { signal: controller.signal }),
  );
  await until(() => hops.length === 1, "the hop reached the transport");
  controller.abort(new Error("the caller gave up"));
  await within(
    assert.rejects(sent, { message: "the caller gave up" }),
    5_000,
    "send() after the request's signal aborted",
  );
  assert.equal(hops[0].signal.aborted, true);
});

/** A POST whose stream body never ends; `read` resolves once it is read. */
function endlessPost(): { request: Request; read: Promise<void> } {
  let reading!: () => void;
  const read = new Promise<void>((go) => reading = go);
  const body = new ReadableStream<Uint8Array>({ pull: () => reading() });
  const request = new Request("http://127.0.0.1:9/x", {
    method: "POST",
    body,
    duplex: "half",
  } as RequestInit);
  return { request, read };
}

test("session: send() reading a stream body that never ends is given up by the caller's signal; nothing is sent", async () => {
  const { transport, hops } = hangingTransport();
  await using s = new Session({ transport });
  const { request, read } = endlessPost();
  const controller = new AbortController();
  const sent = s.send(request, { signal: controller.signal });
  await within(read, 5_000, "the body being read");
  controller.abort(new Error("stop reading"));
  await within(
    assert.rejects(sent, { message: "stop reading" }),
    5_000,
    "send() while its body is read",
  );
  assert.equal(hops.length, 0);
});

test("session: send() reading a stream body that never ends times out with the call's timeout; nothing is sent", async () => {
  const { transport, hops } = hangingTransport();
  await using s = new Session({ transport, timeout: 100 });
  const { request, read } = endlessPost();
  const sent = s.send(request);
  await within(read, 5_000, "the body being read");
  await within(
    assert.rejects(sent, (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.timeout, 100);
      return true;
    }),
    5_000,
    "send() while its body is read, with a timeout",
  );
  assert.equal(hops.length, 0);
});

test("session: send() reading a stream body that never ends is given up by close(), with SessionClosedError; nothing is sent", async () => {
  const { transport, hops } = hangingTransport();
  const s = new Session({ transport });
  const { request, read } = endlessPost();
  const sent = s.send(request);
  await within(read, 5_000, "the body being read");
  await s.close();
  await within(
    assert.rejects(sent, SessionClosedError),
    5_000,
    "send() while its body is read, the session closed",
  );
  assert.equal(hops.length, 0);
});
