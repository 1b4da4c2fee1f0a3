// Where Python requests is right, the session behaves as it does (issue 13):
// cookies given by hand on a same-origin redirect, a UTF-8 Location, the
// history of each hop, values that cannot be header values or JSON, Digest
// with SHA-512, and a deflate body decoded on every runtime. Each is observed
// at a local server.
import { Buffer } from "node:buffer";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import * as zlib from "node:zlib";
import {
  echo,
  type Handler,
  serve,
  type TestServer,
  withServer,
} from "./_server.ts";
import { type Algorithm, digestHandler, expectedResponse } from "./_digest.ts";
import { digestAuth, type HeadersInput, Session } from "../mod.ts";
import { resolveLocation } from "../_redirect.ts";
import { jsonBody } from "../_body.ts";
import { decodeBody } from "../_decode.ts";

// The handler first here: most cases below write their own.
const withServerOf = (
  handler: Handler,
  run: (server: TestServer) => Promise<void>,
) => withServer(run, handler);

/** The cookie pairs of a Cookie header, sorted, so that order does not count. */
function pairs(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join("; ") : header;
  return text.split(/;\s*/).filter((p) => p !== "").sort();
}

// ---------------------------------------------------------------------------
// 1. A hand-set Cookie and per-request cookies on a same-origin redirect.

const REDIRECTS = [301, 302, 303, 307, 308];

// /start/<status> sets cookie=tasty and redirects with <status> to /end.
const cookieRedirect: Handler = (req, res) => {
  const m = req.url!.match(/^\/start\/(\d{3})$/);
  if (m) {
    res.setHeader("set-cookie", "cookie=tasty; Path=/");
    res.writeHead(Number(m[1]), { location: "/end" });
    res.end();
    return;
  }
  echo(req, res);
};

type Call = (s: Session, status: number) => Promise<Response>;

const COOKIE_CALLS: Array<[string, Call]> = [
  [
    "a Cookie header",
    (s, status) =>
      s.get(`/start/${status}`, { headers: { cookie: "foo=bar" } }),
  ],
  [
    "per-request cookies",
    (s, status) => s.get(`/start/${status}`, { cookies: { foo: "bar" } }),
  ],
  [
    "prepare() with a Cookie header, then send()",
    async (s, status) =>
      s.send(
        await s.prepare("GET", `/start/${status}`, {
          headers: { cookie: "foo=bar" },
        }),
      ),
  ],
  [
    "prepare() with per-request cookies, then send()",
    async (s, status) =>
      s.send(
        await s.prepare("GET", `/start/${status}`, { cookies: { foo: "bar" } }),
      ),
  ],
];

for (const [how, call] of COOKIE_CALLS) {
  test(`parity: ${how} stays on a same-origin redirect (301, 302, 303, 307, 308), with the jar's new cookie`, () =>
    withServerOf(cookieRedirect, async (server) => {
      for (const status of REDIRECTS) {
        await using s = new Session({ baseUrl: server.origin });
        const r = await call(s, status);
        assert.equal(r.status, 200);
        await r.body?.cancel();
        const first = server.seen.at(-2)!;
        const end = server.seen.at(-1)!;
        assert.equal(first.url, `/start/${status}`);
        assert.deepEqual(pairs(first.headers.cookie), ["foo=bar"]);
        assert.equal(end.url, "/end");
        assert.deepEqual(
          pairs(end.headers.cookie),
          ["cookie=tasty", "foo=bar"],
          `after a ${status}`,
        );
      }
      assert.equal(server.seen.length, REDIRECTS.length * 2);
    }));
}

for (const [how, call] of COOKIE_CALLS) {
  test(`parity: ${how} does not follow a redirect to another origin`, async () => {
    const other = await serve(echo);
    try {
      await withServerOf((req, res) => {
        const m = req.url!.match(/^\/start\/(\d{3})$/);
        res.writeHead(Number(m![1]), { location: `${other.origin}/end` });
        res.end();
      }, async (server) => {
        for (const status of REDIRECTS) {
          await using s = new Session({ baseUrl: server.origin });
          const r = await call(s, status);
          assert.equal(r.status, 200);
          await r.body?.cancel();
          assert.deepEqual(pairs(server.seen.at(-1)!.headers.cookie), [
            "foo=bar",
          ]);
          assert.equal(other.seen.at(-1)!.headers.cookie, undefined);
        }
        assert.equal(other.seen.length, REDIRECTS.length);
      });
    } finally {
      await other.close();
    }
  });
}

// ---------------------------------------------------------------------------
// 2. A Location holding UTF-8 bytes.

/**
 * A server written on bare TCP, so that the Location's bytes are exactly the
 * ones given: `/start` answers 302 with `location`, anything else 200 with
 * its request target as the body. Request targets are recorded.
 */
async function rawRedirector(
  location: Buffer,
): Promise<{ origin: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let pending = "";
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end === -1) return;
        const target = pending.slice(0, end).split(" ")[1];
        pending = pending.slice(end + 4);
        targets.push(target);
        if (target === "/start") {
          socket.write(Buffer.concat([
            Buffer.from("HTTP/1.1 302 Found\r\nLocation: ", "latin1"),
            location,
            Buffer.from("\r\nContent-Length: 0\r\n\r\n", "latin1"),
          ]));
        } else {
          const body = Buffer.from(target, "latin1");
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`,
          );
          socket.write(body);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    targets,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const LOCATIONS: Array<[string, Buffer, string]> = [
  ["UTF-8 /š", Buffer.from([0x2f, 0xc5, 0xa1]), "/%C5%A1"],
  [
    "UTF-8 in the path and the query",
    Buffer.from("/caf\u00e9/\u0161?q=\u00fc", "utf8"),
    "/caf%C3%A9/%C5%A1?q=%C3%BC",
  ],
  // 0xE9 alone is not UTF-8: read as Latin-1 (é), as the runtime gave it.
  ["Latin-1 /é, not UTF-8", Buffer.from([0x2f, 0xe9]), "/%C3%A9"],
];

for (const [what, bytes, want] of LOCATIONS) {
  test(`parity: a redirect to a ${what} Location asks for ${want}`, async () => {
    const server = await rawRedirector(bytes);
    try {
      await using s = new Session({ baseUrl: server.origin });
      const r = await s.get("/start");
      assert.equal(r.status, 200);
      assert.equal(await r.text(), want);
      assert.deepEqual(server.targets, ["/start", want]);
      assert.equal(r.url, server.origin + want);
    } finally {
      await server.close();
    }
  });
}

test("parity: resolveLocation reads Latin-1 text that is UTF-8 as UTF-8, and leaves real text alone", () => {
  const base = "http://a.test/";
  assert.equal(resolveLocation("/\u00c5\u00a1", base).pathname, "/%C5%A1");
  assert.equal(resolveLocation("/\u0161", base).pathname, "/%C5%A1");
  assert.equal(resolveLocation("/\u00e9", base).pathname, "/%C3%A9");
  assert.equal(resolveLocation("/plain?a=1", base).href, base + "plain?a=1");
});

// ---------------------------------------------------------------------------
// 3. Each hop in history has the hops before it as its own history.

test("parity: r.history[i].history holds the hops before hop i", () =>
  withServerOf((req, res) => {
    const n = Number(req.url!.match(/^\/hop\/(\d+)$/)?.[1] ?? 0);
    if (n > 0) {
      res.writeHead(302, { location: `/hop/${n - 1}` });
      res.end(`hop ${n}`);
    } else res.end("done");
  }, async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/hop/3");
    assert.equal(await r.text(), "done");
    const urls = [3, 2, 1].map((n) => `${server.origin}/hop/${n}`);
    assert.deepEqual(r.history.map((h) => h.url), urls);
    r.history.forEach((hop, i) => {
      const own = (hop as Response & { history?: Response[] }).history;
      assert.ok(Array.isArray(own), `history[${i}].history is an array`);
      assert.deepEqual(own.map((h) => h.url), urls.slice(0, i));
    });
    assert.deepEqual(server.seen.map((x) => x.url), [
      "/hop/3",
      "/hop/2",
      "/hop/1",
      "/hop/0",
    ]);
  }));

// ---------------------------------------------------------------------------
// 4. Values that cannot be header values.

const NOT_HEADER_VALUES: Array<[string, unknown]> = [
  ["an object", { a: 1 }],
  ["an array", ["foo", "bar"]],
  ["a function", () => "x"],
  ["a symbol", Symbol("x")],
];

test("parity: a header value that is an object, array, function or symbol is refused, naming the header, and nothing is sent", () =>
  withServerOf(echo, async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    for (const [what, value] of NOT_HEADER_VALUES) {
      const bad = { "x-bad": value } as unknown as HeadersInput;
      const pair = [["x-pair", value]] as unknown as HeadersInput;
      await assert.rejects(s.get("/a", { headers: bad }), (error: Error) => {
        assert.ok(error instanceof TypeError, what);
        assert.match(error.message, /x-bad/, what);
        return true;
      });
      await assert.rejects(
        s.post("/b", { headers: bad, body: "x" }),
        TypeError,
      );
      await assert.rejects(s.prepare("GET", "/c", { headers: bad }), TypeError);
      await assert.rejects(s.get("/d", { headers: pair }), /x-pair/);
      assert.throws(
        () => new Session({ headers: bad as HeadersInit }),
        (error: Error) =>
          error instanceof TypeError && /x-bad/.test(error.message),
        what,
      );
    }
    assert.equal(server.seen.length, 0);
  }));

test("parity: strings, numbers and booleans are header values", () =>
  withServerOf(echo, async (server) => {
    await using s = new Session({
      baseUrl: server.origin,
      headers: { "x-session": "s" },
    });
    const r = await s.get("/a", {
      headers: { "x-n": 42, "x-b": true, "x-s": "text" },
    });
    await r.body?.cancel();
    const h = server.seen[0].headers;
    assert.equal(h["x-n"], "42");
    assert.equal(h["x-b"], "true");
    assert.equal(h["x-s"], "text");
    assert.equal(h["x-session"], "s");
  }));

// ---------------------------------------------------------------------------
// 5. JSON that JSON cannot hold.

test("parity: json with NaN or ±Infinity anywhere is refused before anything is sent, saying where", () =>
  withServerOf(echo, async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    const cases: Array<[unknown, string]> = [
      [NaN, "json is NaN"],
      [
        { items: [{ price: 1 }, { price: 2 }, { price: NaN }] },
        "json.items[2].price is NaN",
      ],
      [[1, [2, Infinity]], "json[1][1] is Infinity"],
      [{ "a b": { c: -Infinity } }, 'json["a b"].c is -Infinity'],
    ];
    for (const [json, where] of cases) {
      for (
        const send of [
          () => s.post("/x", { json }),
          () => s.put("/x", { json }),
          () => s.prepare("POST", "/x", { json }),
        ]
      ) {
        await assert.rejects(send(), (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.ok(error.message.includes(where), error.message);
          return true;
        });
      }
    }
    assert.equal(server.seen.length, 0);
  }));

test("parity: jsonBody serialises as JSON.stringify does, and refuses what JSON cannot hold, saying where", () => {
  const when = new Date(0);
  const shared = { n: 1 };
  assert.equal(
    jsonBody({ when, a: [shared, shared], skip: undefined, f: () => 1 }),
    JSON.stringify({ when, a: [shared, shared] }),
  );
  assert.equal(jsonBody([undefined, 1]), "[null,1]");
  assert.equal(jsonBody("text"), '"text"');
  assert.equal(jsonBody(null), "null");
  const cycle: Record<string, unknown> = { list: [] };
  (cycle.list as unknown[]).push({ back: cycle });
  const refused: Array<[unknown, RegExp]> = [
    [{ n: 1n }, /json\.n is a BigInt/],
    [cycle, /json\.list\[0\]\.back refers back to json\b/],
    [() => 1, /json is a function/],
    [Symbol("s"), /json is a symbol/],
    [undefined, /json is undefined/],
    [{ boxed: new Number(NaN) }, /json\.boxed is NaN/],
    [{ toJSON: () => Infinity }, /json is Infinity/],
    [{
      toJSON: () => {
        throw new Error("no");
      },
    }, /cannot be serialised: no/],
  ];
  for (const [value, message] of refused) {
    assert.throws(() => jsonBody(value), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, message);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------
// 6. Digest with SHA-512 and SHA-512-256.

const SHA512_FAMILY: Algorithm[] = [
  "SHA-512",
  "SHA-512-sess",
  "SHA-512-256",
  "SHA-512-256-sess",
];

for (const algorithm of SHA512_FAMILY) {
  for (const quotedQop of [true, false]) {
    test(`parity: digest ${algorithm} (qop ${quotedQop ? "quoted" : "unquoted"}) is answered, checked by the server`, () => {
      const digest = digestHandler({
        username: "Mufasa",
        password: "Circle of Life",
        algorithms: [algorithm],
        quotedQop,
      });
      return withServerOf(digest.handler, async (server) => {
        await using s = new Session({
          baseUrl: server.origin,
          auth: digestAuth("Mufasa", "Circle of Life"),
        });
        const first = await s.get("/dir/index.html?x=1");
        assert.equal(first.status, 200);
        assert.deepEqual(await first.json(), {
          authenticated: true,
          user: "Mufasa",
        });
        const second = await s.get("/dir/other");
        assert.equal(second.status, 200);
        await second.body?.cancel();
        assert.deepEqual(digest.verdicts.map((v) => v.result), [
          "none",
          "ok",
          "ok",
        ]);
        assert.equal(digest.verdicts[1].params.algorithm, algorithm);
        assert.equal(digest.verdicts[2].params.nc, "00000002");
      });
    });
  }
}

test("parity: digest prefers SHA-512 over SHA-256 and MD5 when offered all", () => {
  const digest = digestHandler({
    username: "u",
    password: "p",
    algorithms: ["MD5", "SHA-256", "SHA-512-256", "SHA-512"],
  });
  return withServerOf(digest.handler, async (server) => {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "p"),
    });
    const r = await s.get("/x");
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.equal(digest.verdicts[1].params.algorithm, "SHA-512");
  });
});

// RFC 7616 §3.9.2's example response was computed with SHA-512 cut to 256
// bits, not with SHA-512/256 (erratum 4897): its inputs give its value with
// the former, and the session uses the latter, as the algorithm's name says.
const RFC_EXAMPLE = {
  username: "J\u00e4s\u00f8n Doe",
  realm: "api@example.org",
  password: "Secret, or not?",
  method: "GET",
  uri: "/doe.json",
  nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
  nc: "00000001",
  cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
  qop: "auth",
};

test("parity: RFC 7616 §3.9.2's example, with SHA-512 truncated and with SHA-512/256", () => {
  const truncated = (text: string) =>
    createHash("sha512").update(text).digest("hex").slice(0, 64);
  const e = RFC_EXAMPLE;
  const ha1 = truncated(`${e.username}:${e.realm}:${e.password}`);
  const ha2 = truncated(`${e.method}:${e.uri}`);
  assert.equal(
    truncated(`${ha1}:${e.nonce}:${e.nc}:${e.cnonce}:${e.qop}:${ha2}`),
    "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd",
  );
  assert.equal(
    expectedResponse({ algorithm: "SHA-512-256", ...e }),
    "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5",
  );
});

// ---------------------------------------------------------------------------
// 7. Content-Encoding: deflate (zlib-wrapped and raw), and the others.

const TEXT = "Coming from requests: the same body on every runtime. ".repeat(
  40,
);
const ENCODED: Array<[string, string, Buffer]> = [
  ["deflate (zlib, RFC 1950)", "deflate", zlib.deflateSync(TEXT)],
  ["deflate (raw, RFC 1951)", "deflate", zlib.deflateRawSync(TEXT)],
  ["gzip", "gzip", zlib.gzipSync(TEXT)],
  ["x-gzip", "x-gzip", zlib.gzipSync(TEXT)],
  ["br", "br", zlib.brotliCompressSync(Buffer.from(TEXT))],
  ["Deflate (any case)", "Deflate", zlib.deflateSync(TEXT)],
];

for (const [what, coding, bytes] of ENCODED) {
  test(`parity: a ${what} body is decoded; Content-Encoding and Content-Length are the wire's`, () =>
    withServerOf((req, res) => {
      if (req.url === "/moved") {
        const moved = zlib.deflateSync("moved");
        res.writeHead(302, {
          location: "/body",
          "set-cookie": "moved=1; Path=/",
          "content-encoding": "deflate",
          "content-length": moved.length,
        });
        res.end(moved);
        return;
      }
      res.writeHead(200, {
        "content-encoding": coding,
        "content-length": bytes.length,
      });
      res.end(bytes);
    }, async (server) => {
      await using s = new Session({ baseUrl: server.origin });
      // The fast way (a plain GET) and the general way (a header of the
      // session's own, and a redirect).
      const plain = await s.get("/body");
      assert.equal(await plain.text(), TEXT);
      assert.equal(plain.headers.get("content-encoding"), coding);
      assert.equal(plain.headers.get("content-length"), String(bytes.length));
      assert.equal(plain.url, `${server.origin}/body`);
      const general = await s.get("/body", { headers: { "x-way": "general" } });
      assert.equal(await general.text(), TEXT);
      const redirected = await s.get("/moved");
      assert.equal(await redirected.text(), TEXT);
      assert.equal(await redirected.history[0].text(), "moved");
      // The decoded response keeps its Set-Cookie: the next hop sends it.
      assert.equal(server.seen.length, 4);
      assert.equal(server.seen[3].headers.cookie, "moved=1");
    }));
}

test("parity: an empty deflate body is an empty body, and HEAD has none", () =>
  withServerOf((_req, res) => {
    res.writeHead(200, { "content-encoding": "deflate", "content-length": 0 });
    res.end();
  }, async (server) => {
    await using s = new Session({ baseUrl: server.origin });
    assert.equal(await (await s.get("/empty")).text(), "");
    assert.equal(await (await s.head("/empty")).text(), "");
    assert.deepEqual(server.seen.map((x) => x.method), ["GET", "HEAD"]);
  }));

test("parity: decodeBody (what the Deno client calls) reads a deflate head split over chunks, and leaves gzip alone", async () => {
  const leftEncoded = true;
  for (const bytes of [zlib.deflateSync(TEXT), zlib.deflateRawSync(TEXT)]) {
    // One byte per chunk: the zlib header is seen across two reads.
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at < bytes.length) controller.enqueue(bytes.subarray(at, ++at));
        else controller.close();
      },
    });
    const response = new Response(body, {
      status: 203,
      headers: { "content-encoding": "deflate", "x-kept": "1" },
    });
    const out = decodeBody(response);
    assert.equal(out.status, 203);
    assert.equal(out.headers.get("x-kept"), "1");
    assert.equal(out.headers.get("content-encoding"), "deflate");
    const read = Buffer.from(await out.arrayBuffer());
    if (leftEncoded) assert.equal(read.toString(), TEXT);
    else {
      assert.equal(out, response);
      assert.deepEqual(read, Buffer.from(bytes));
    }
  }
  const gzip = new Response(zlib.gzipSync(TEXT), {
    headers: { "content-encoding": "gzip" },
  });
  assert.equal(decodeBody(gzip), gzip);
});

/**
 * A TCP server that reads each request's line and answers it with no body,
 * so that a method no HTTP parser knows (`FOO`) is seen as it was sent.
 */
async function lineServer(): Promise<
  { origin: string; lines: string[]; close(): Promise<void> }
> {
  const lines: string[] = [];
  const server = net.createServer((socket) => {
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      lines.push(head.slice(0, head.indexOf("\r\n")));
      socket.end("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
    });
  });
  await new Promise<void>((go) => server.listen(0, "127.0.0.1", go));
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    lines,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

test("parity: a method is sent upper-cased, as requests sends it; a custom token as it is named; fetch's forbidden methods and non-tokens are refused before anything is sent", async () => {
  const server = await lineServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (const method of ["patch", "Delete", "PROPFIND", "query"]) {
      await (await s.request(method, "/m")).body?.cancel();
    }
    assert.deepEqual(server.lines, [
      "PATCH /m HTTP/1.1",
      "DELETE /m HTTP/1.1",
      "PROPFIND /m HTTP/1.1",
      "QUERY /m HTTP/1.1",
    ]);
    for (const method of ["TRACE", "connect", "Track"]) {
      await assert.rejects(s.request(method, "/m"), {
        name: "TypeError",
        message: new RegExp(
          `^A ${method.toUpperCase()} request cannot be sent`,
        ),
      });
    }
    for (const method of ["GE T", "", "GET\r\nX: 1", "é"]) {
      await assert.rejects(s.request(method, "/m"), {
        name: "TypeError",
        message: `Invalid method: ${JSON.stringify(method)}`,
      });
    }
    await assert.rejects(s.prepare("TRACE", "/m"), { name: "TypeError" });
    assert.equal(server.lines.length, 4);
  } finally {
    await server.close();
  }
});

test("parity: a method Bun's fetch does not know is refused on Bun, not sent as a GET; other runtimes send it", async () => {
  const server = await lineServer();
  try {
    await using s = new Session({ baseUrl: server.origin });
    if ("Bun" in globalThis) {
      await assert.rejects(s.request("FOO", "/m"), {
        name: "UnsupportedTransportError",
        message: /would send a FOO request as a GET/,
      });
      assert.deepEqual(server.lines, []);
      // A method Bun knows, given in lower case by a stage, goes as Bun
      // sends it: upper-cased.
      await using staged = new Session({
        baseUrl: server.origin,
        stages: [(next) => (hop) => next({ ...hop, method: "patch" })],
      });
      await (await staged.get("/m")).body?.cancel();
      assert.deepEqual(server.lines, ["PATCH /m HTTP/1.1"]);
    } else {
      await (await s.request("FOO", "/m")).body?.cancel();
      assert.deepEqual(server.lines, ["FOO /m HTTP/1.1"]);
    }
  } finally {
    await server.close();
  }
});
