// Header injection and bad input: whatever the source of a bad value, it is
// refused before anything is sent — the servers here count connections to
// prove it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve } from "../_server.ts";
import { RedirectError, Session, TooManyRedirectsError } from "../../mod.ts";

const INJECTED = ["a\r\nx-injected: 1", "a\nx-injected: 1", "a\rb", "a\0b"];

test("CVE-2022-35948: CR, LF or NUL in a request header value is refused before sending", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (const value of INJECTED) {
      await assert.rejects(
        s.get("/", { headers: { "x-value": value } }),
        TypeError,
      );
    }
    assert.equal(server.connections, 0);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test("CVE-2022-35948: CR, LF, NUL, space or colon in a header name is refused before sending", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (const name of ["x-a\r\nx-injected", "x-a\nb", "x\0a", "x a", "x:a"]) {
      await assert.rejects(
        s.get("/", { headers: { [name]: "1" } }),
        TypeError,
      );
    }
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test("CVE-2022-35948: CR, LF or NUL in session headers is refused when set", async () => {
  const server = await serve(echo);
  try {
    for (const value of INJECTED) {
      assert.throws(
        () =>
          new Session({ baseUrl: server.origin, headers: { "x-v": value } }),
        TypeError,
      );
    }
    await using s = new Session({ baseUrl: server.origin });
    for (const value of INJECTED.slice(0, 1).concat(INJECTED.slice(2))) {
      assert.throws(() => s.headers.set("x-v", value), TypeError);
    }
    const r = await s.get("/ok");
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].headers["x-v"], undefined);
    assert.equal(server.seen[0].headers["x-injected"], undefined);
  } finally {
    await server.close();
  }
});

test("CVE-2023-23936: CRLF in a Host header is refused, no request is smuggled", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(
      s.get("/", {
        headers: { host: "127.0.0.1\r\n\r\nGET /smuggled HTTP/1.1" },
      }),
      TypeError,
    );
    assert.equal(server.connections, 0);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test("CVE-2022-35948: a header with CRLF added by an auth function never reaches the wire", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: (request) => {
        const headers = new Headers(request.headers);
        headers.set("x-token", "t\r\nx-injected: 1");
        return new Request(request, { headers });
      },
    });
    await assert.rejects(s.get("/"), TypeError);
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test("CVE-2022-35948: Basic credentials with CRLF are encoded, not injected", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      auth: ["user\r\nx-injected: 1", "pass\r\n"],
    });
    const r = await s.get("/");
    await r.body?.cancel();
    const seen = server.seen[0].headers;
    assert.equal(seen["x-injected"], undefined);
    const encoded = String(seen.authorization).replace(/^Basic /, "");
    assert.equal(atob(encoded), "user\r\nx-injected: 1:pass\r\n");
  } finally {
    await server.close();
  }
});

test("Cookie injection: a cookie set through the API or per request with ';', CR, LF or NUL is refused", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    for (const value of [...INJECTED, "a; admin=1"]) {
      assert.throws(() => s.cookies.set("c", value), TypeError);
      await assert.rejects(s.get("/", { cookies: { c: value } }), TypeError);
    }
    for (const name of ["a=b", "a;b", "a\r\nb", "", "a b"]) {
      assert.throws(() => s.cookies.set(name, "v"), TypeError);
      await assert.rejects(s.get("/", { cookies: { [name]: "v" } }), TypeError);
    }
    assert.equal(s.cookies.size, 0);
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test("Param values are percent-encoded, never injected into the query, path or headers", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      params: { lang: "en&admin=1" },
    });
    const hostile = "x&admin=1#frag\r\nx-injected: 1 /../..";
    const r = await s.get("/search", { params: { q: hostile } });
    await r.body?.cancel();
    const seen = server.seen[0];
    assert.equal(seen.headers["x-injected"], undefined);
    const url = new URL(seen.url, server.origin);
    assert.equal(url.pathname, "/search");
    assert.deepEqual([...url.searchParams.keys()].sort(), ["lang", "q"]);
    assert.equal(url.searchParams.get("q"), hostile);
    assert.equal(url.searchParams.get("lang"), "en&admin=1");
  } finally {
    await server.close();
  }
});

test("CR and LF in a request path are dropped by URL parsing, not sent as a header", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/a\r\nx-injected: 1");
    await r.body?.cancel();
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].headers["x-injected"], undefined);
    assert.ok(!server.seen[0].url.includes("\n"));
  } finally {
    await server.close();
  }
});

test("An unparseable Location ends in a RedirectError naming it", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 302;
    res.setHeader("location", "http://[not-an-ip/next");
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const error = await s.get("/").then(
      () => assert.fail("must reject"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RedirectError);
    assert.match(error.message, /invalid Location/);
    assert.match(error.message, /not-an-ip/);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

for (
  const target of [
    "file:///etc/passwd",
    "data:text/plain,hi",
    "unix:/var/run/docker.sock",
    "javascript:alert(1)",
  ]
) {
  const scheme = target.slice(0, target.indexOf(":") + 1);
  test(`CVE-2022-33987: a redirect to ${scheme} is refused with a clear error`, async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 302;
      res.setHeader("location", target);
      res.end();
    });
    try {
      await using s = new Session({ baseUrl: server.origin });
      const error = await s.get("/").then(
        () => assert.fail("must reject"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RedirectError);
      assert.ok(error.message.includes(scheme), error.message);
      assert.equal(server.seen.length, 1);
    } finally {
      await server.close();
    }
  });
}

test("A redirect loop A→B→A ends in TooManyRedirectsError after maxRedirects hops", async () => {
  const server = await serve((req, res) => {
    res.statusCode = 302;
    res.setHeader("location", req.url === "/a" ? "/b" : "/a");
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin, maxRedirects: 7 });
    await assert.rejects(s.get("/a"), TooManyRedirectsError);
    assert.equal(server.seen.length, 8);
    assert.deepEqual(
      server.seen.map((x) => x.url).slice(0, 4),
      ["/a", "/b", "/a", "/b"],
    );
    // One keep-alive connection carried the whole loop.
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

test("An absurdly long request URL is refused before sending", async () => {
  const server = await serve(echo);
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(
      s.get("/" + "a".repeat(1 << 20)),
      (e: unknown) => e instanceof TypeError && /too long/.test(e.message),
    );
    await assert.rejects(
      s.get("/", { params: { q: "b".repeat(1 << 20) } }),
      (e: unknown) =>
        e instanceof TypeError && /too long/.test(e.message) &&
        e.message.length < 1000,
    );
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

test("An absurdly long Location is refused with a RedirectError", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/") {
      res.statusCode = 302;
      res.setHeader("location", "/" + "a".repeat(1 << 17));
      res.end();
      return;
    }
    echo(req, res);
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(
      s.get("/"),
      (e: unknown) =>
        e instanceof RedirectError && /too long/.test(e.message) &&
        e.message.length < 1000,
    );
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("An absurdly large response header block ends in a clear error, and the session goes on", async () => {
  const server = await serve((req, res) => {
    if (req.url === "/huge") {
      for (let i = 0; i < 2000; i++) res.setHeader(`x-h${i}`, "v".repeat(1000));
    }
    res.end("ok");
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 10_000 });
    await assert.rejects(s.get("/huge"), (e: unknown) => {
      assert.equal((e as Error).name, "ConnectionError");
      assert.ok((e as Error).cause !== undefined);
      return true;
    });
    const r = await s.get("/small");
    assert.equal(await r.text(), "ok");
  } finally {
    await server.close();
  }
});
