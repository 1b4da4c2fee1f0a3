import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { echo, serve } from "./_server.ts";
import { digestHandler, expectedResponse, parseDigest } from "./_digest.ts";
import {
  type AuthFunction,
  basicAuth,
  bearerAuth,
  digestAuth,
  Session,
} from "../mod.ts";
import { md5Hex } from "../_md5.ts";

const BASIC_USER_PASS = `Basic ${btoa("user:pass")}`;

test("auth: [user, pass] and basicAuth() send the same Basic header", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: ["user", "pass"],
    });
    await s.get("/a");
    await s.get("/b", { auth: basicAuth("user", "pass") });
    await s.get("/c", { auth: null });
    await s.get("/d", { auth: basicAuth("üser", "pässword") });
    assert.equal(server.seen[0].headers.authorization, BASIC_USER_PASS);
    assert.equal(server.seen[1].headers.authorization, BASIC_USER_PASS);
    assert.equal(server.seen[2].headers.authorization, undefined);
    const utf8 = new TextEncoder().encode("üser:pässword");
    assert.equal(
      server.seen[3].headers.authorization,
      `Basic ${btoa(String.fromCharCode(...utf8))}`,
    );
    assert.throws(() => basicAuth("a:b", "c"), TypeError);
  } finally {
    await server.close();
  }
});

test("auth: URL userinfo becomes Basic and is removed from the URL", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session();
    const url = server.origin.replace("//", "//us%40er:p%3Ass@") + "/x";
    const r = await s.get(url);
    assert.equal(
      server.seen[0].headers.authorization,
      `Basic ${btoa("us@er:p:ss")}`,
    );
    assert.equal(r.url, `${server.origin}/x`);
    assert.equal(server.seen[0].headers.host, `127.0.0.1:${server.port}`);
    // An explicit auth wins over the userinfo, which is still removed.
    const r2 = await s.get(url, { auth: ["other", "pw"] });
    assert.equal(
      server.seen[1].headers.authorization,
      `Basic ${btoa("other:pw")}`,
    );
    assert.equal(r2.url, `${server.origin}/x`);
  } finally {
    await server.close();
  }
});

test("auth: bearerAuth sends a token; a function is re-evaluated per request", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: bearerAuth("static"),
    });
    await s.get("/a");
    let n = 0;
    s.auth = bearerAuth(async () => {
      await Promise.resolve();
      return `t${++n}`;
    });
    await s.get("/b");
    await s.get("/c");
    assert.deepEqual(server.seen.map((x) => x.headers.authorization), [
      "Bearer static",
      "Bearer t1",
      "Bearer t2",
    ]);
    assert.throws(() => bearerAuth("a\r\nx-injected: 1"), TypeError);
    await assert.rejects(
      s.get("/d", { auth: bearerAuth(() => "bad\ntoken") }),
      TypeError,
    );
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("auth: a bearer token refreshed through its function when the server refuses it", async () => {
  let valid = "fresh-1";
  const server = await serve((req, res) => {
    res.statusCode = req.headers.authorization === `Bearer ${valid}`
      ? 200
      : 401;
    res.end();
  });
  try {
    let refreshes = 0;
    let token = "expired";
    await using s = new Session({
      baseUrl: server.origin,
      auth: bearerAuth(() => token),
      // A 401 means "refresh and try once more".
      retry: { limit: 1, statusCodes: [401], backoff: 0 },
      hooks: {
        beforeRetry: [({ response }) => {
          if (response?.status === 401) token = `fresh-${++refreshes}`;
        }],
      },
    });
    const r = await s.get("/me");
    assert.equal(r.status, 200);
    assert.equal(r.retryCount, 1);
    assert.deepEqual(server.seen.map((x) => x.headers.authorization), [
      "Bearer expired",
      "Bearer fresh-1",
    ]);
    valid = "fresh-2";
    assert.equal((await s.get("/me")).status, 200);
    assert.equal(server.seen.at(-1)!.headers.authorization, "Bearer fresh-2");
  } finally {
    await server.close();
  }
});

test("auth: a function's credentials stay on the first origin across redirects", async () => {
  const other = await serve(echo);
  const server = await serve((req, res) => {
    if (req.url === "/away") {
      res.writeHead(302, { location: `${other.origin}/landed` });
      res.end();
    } else if (req.url === "/here") {
      res.writeHead(302, { location: "/landed" });
      res.end();
    } else echo(req, res);
  });
  try {
    let calls = 0;
    await using s = new Session({
      auth: bearerAuth(() => `t${++calls}`),
    });
    await s.get(`${server.origin}/here`);
    assert.equal(server.seen[0].headers.authorization, "Bearer t1");
    assert.equal(server.seen[1].headers.authorization, "Bearer t2");
    await s.get(`${server.origin}/away`);
    assert.equal(server.seen[2].headers.authorization, "Bearer t3");
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers.authorization, undefined);
    assert.equal(calls, 3);
  } finally {
    await server.close();
    await other.close();
  }
});

test("auth: a custom function runs for every attempt and in prepare()", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = server.seen.length === 1 ? 503 : 200;
    res.end();
  });
  try {
    let n = 0;
    const apiKey: AuthFunction = (request) => {
      const headers = new Headers(request.headers);
      headers.set("x-api-key", `k${++n}`);
      return new Request(request, { headers });
    };
    await using s = new Session({
      baseUrl: server.origin,
      auth: apiKey,
      retry: { limit: 1, backoff: 0 },
    });
    await s.get("/x");
    assert.deepEqual(server.seen.map((x) => x.headers["x-api-key"]), [
      "k1",
      "k2",
    ]);
    const prepared = await s.prepare("GET", "/y");
    assert.equal(prepared.headers.get("x-api-key"), "k3");
  } finally {
    await server.close();
  }
});

test("digest: the test server's check reproduces RFC 7616 §3.9.1", () => {
  const example = {
    username: "Mufasa",
    realm: "http-auth@example.org",
    password: "Circle of Life",
    method: "GET",
    uri: "/dir/index.html",
    nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc: "00000001",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    qop: "auth",
  };
  assert.equal(
    expectedResponse({ ...example, algorithm: "MD5" }),
    "8ca523f5e9506fed4657c9700eebdbec",
  );
  assert.equal(
    expectedResponse({ ...example, algorithm: "SHA-256" }),
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
});

test("digest: md5 matches node:crypto", () => {
  const enc = new TextEncoder();
  for (const n of [0, 1, 3, 55, 56, 63, 64, 65, 1000]) {
    const text = "abcdefghij".repeat(100).slice(0, n) + "é";
    assert.equal(
      md5Hex(enc.encode(text)),
      createHash("md5").update(text).digest("hex"),
      `length ${n}`,
    );
  }
});

for (const algorithm of ["SHA-256", "MD5", "SHA-256-sess"] as const) {
  test(`digest: ${algorithm} against the RFC 7616 server, then signed up front with nc 2`, async () => {
    const digest = digestHandler({
      username: "Mufasa",
      password: "Circle of Life",
      algorithms: [algorithm],
    });
    const server = await serve(digest.handler);
    try {
      await using s = new Session({
        baseUrl: server.origin,
        auth: digestAuth("Mufasa", "Circle of Life"),
      });
      const r = await s.get("/dir/index.html");
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { authenticated: true, user: "Mufasa" });
      assert.deepEqual(digest.verdicts.map((v) => v.result), ["none", "ok"]);
      const p = digest.verdicts[1].params;
      assert.equal(p.algorithm, algorithm);
      assert.equal(p.uri, "/dir/index.html");
      assert.equal(p.nc, "00000001");
      assert.equal(p.qop, "auth");
      assert.equal(p.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
      assert.match(p.cnonce, /^[0-9a-f]{32}$/);

      // The nonce is remembered: the next request is signed at once.
      const r2 = await s.get("/dir/other?x=1");
      assert.equal(r2.status, 200);
      await r2.body?.cancel();
      assert.equal(server.seen.length, 3);
      assert.equal(digest.verdicts[2].result, "ok");
      assert.equal(digest.verdicts[2].params.nc, "00000002");
      assert.equal(digest.verdicts[2].params.uri, "/dir/other?x=1");
    } finally {
      await server.close();
    }
  });
}

test("digest: SHA-256 is chosen when the server offers MD5 first", async () => {
  const digest = digestHandler({
    username: "u",
    password: "p",
    algorithms: ["MD5", "SHA-256"],
  });
  const server = await serve(digest.handler);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "p"),
    });
    assert.equal((await s.get("/x")).status, 200);
    assert.equal(digest.verdicts[1].params.algorithm, "SHA-256");
  } finally {
    await server.close();
  }
});

test("digest: a stale nonce is answered once with the new one", async () => {
  const digest = digestHandler({
    username: "u",
    password: "p",
    nonceUses: 1,
  });
  const server = await serve(digest.handler);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "p"),
    });
    assert.equal((await s.get("/a")).status, 200);
    // The nonce was retired after one use: the signed request is refused as
    // stale and sent again with the new nonce, nc back to 1.
    assert.equal((await s.get("/b")).status, 200);
    assert.deepEqual(digest.verdicts.map((v) => v.result), [
      "none",
      "ok",
      "stale",
      "ok",
    ]);
    assert.match(digest.verdicts[3].params.nonce, /^rotated-1-/);
    assert.equal(digest.verdicts[3].params.nc, "00000001");
  } finally {
    await server.close();
  }
});

test("digest: wrong credentials give the 401 back after one answer", async () => {
  const digest = digestHandler({ username: "u", password: "right" });
  const server = await serve(digest.handler);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "wrong"),
    });
    const r = await s.get("/x");
    assert.equal(r.status, 401);
    assert.equal(await r.text(), "unauthorised");
    assert.deepEqual(digest.verdicts.map((v) => v.result), [
      "none",
      "bad-response",
    ]);
  } finally {
    await server.close();
  }
});

test("digest: the body is sent again with the answer", async () => {
  const digest = digestHandler({ username: "u", password: "p" });
  const server = await serve(digest.handler);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "p"),
    });
    const r = await s.post("/submit", { json: { a: 1 } });
    assert.equal(r.status, 200);
    assert.deepEqual(server.seen.map((x) => x.body), ['{"a":1}', '{"a":1}']);
    assert.equal(digest.verdicts[1].params.uri, "/submit");
  } finally {
    await server.close();
  }
});

test("digest: works through a same-origin redirect, never sent to another origin", async () => {
  const digest = digestHandler({ username: "u", password: "p" });
  const elsewhere = digestHandler({ username: "u", password: "p" });
  const other = await serve(elsewhere.handler);
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.writeHead(302, { location: "/secret" });
      res.end();
    } else if (req.url === "/away") {
      res.writeHead(307, { location: `${other.origin}/secret` });
      res.end();
    } else digest.handler(req, res);
  });
  try {
    await using s = new Session({ auth: digestAuth("u", "p") });
    const r = await s.get(`${server.origin}/start`);
    assert.equal(r.status, 200);
    assert.equal(r.history.length, 1);
    assert.deepEqual(server.seen.map((x) => x.url), [
      "/start",
      "/secret",
      "/secret",
    ]);
    assert.equal(digest.verdicts[1].result, "ok");
    assert.equal(digest.verdicts[1].params.uri, "/secret");

    const away = await s.get(`${server.origin}/away`);
    assert.equal(away.status, 401);
    assert.equal(other.seen.length, 1);
    assert.equal(other.seen[0].headers.authorization, undefined);
    // The /away hop itself was signed up front with the first origin's nonce.
    assert.equal(
      parseDigest(server.seen[3].headers.authorization!).uri,
      "/away",
    );
  } finally {
    await server.close();
    await other.close();
  }
});

test("digest: a one-shot stream body is not sent twice; the 401 comes back", async () => {
  const digest = digestHandler({ username: "u", password: "p" });
  const server = await serve(digest.handler);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: digestAuth("u", "p"),
    });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("once"));
        c.close();
      },
    });
    const r = await s.post("/up", { body });
    assert.equal(r.status, 401);
    await r.body?.cancel();
    assert.equal(server.seen.length, 1);
    // The challenge is remembered, so a second stream is signed up front.
    const again = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("twice"));
        c.close();
      },
    });
    assert.equal((await s.post("/up", { body: again })).status, 200);
    assert.equal(server.seen[1].body, "twice");
  } finally {
    await server.close();
  }
});
