import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import process from "node:process";
import {
  ConnectionError,
  matchesNoProxy,
  proxyFor,
  Session,
  UnsupportedTransportError,
} from "../mod.ts";
import { echo, serve } from "./_server.ts";
import { CA, serveTls } from "./_tls.ts";
import { startTinyproxy, tinyproxyMissing } from "./_tinyproxy.ts";

const PROXY_ENV = [
  "http_proxy",
  "HTTP_PROXY",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY",
  "REQUEST_METHOD",
];

/** Runs `fn` with exactly these proxy variables set, then restores them. */
async function withEnv(
  vars: Record<string, string>,
  fn: () => Promise<void>,
): Promise<void> {
  const saved = new Map(PROXY_ENV.map((k) => [k, process.env[k]]));
  for (const k of PROXY_ENV) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A "proxy" that must never be used: it counts and drops connections. */
async function decoy(): Promise<
  { url: string; connections: () => number; close(): Promise<void> }
> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;
const skip = tinyproxyMissing ?? false;

test("proxy: NO_PROXY matching follows curl", () => {
  const m = (url: string, list: string) => matchesNoProxy(new URL(url), list);
  assert.equal(m("http://example.com/", "example.com"), true);
  assert.equal(m("http://a.b.example.com/", "example.com"), true);
  assert.equal(m("http://a.example.com/", ".example.com"), true);
  assert.equal(m("http://example.com/", ".example.com"), true);
  assert.equal(m("http://badexample.com/", "example.com"), false);
  assert.equal(m("http://EXAMPLE.com./", "Example.COM"), true);
  assert.equal(m("http://anything/", "*"), true);
  assert.equal(m("http://anything/", "a, *.b"), false);
  assert.equal(m("http://x.b/", "a, *.b"), true);
  assert.equal(m("http://10.1.2.3/", "10.0.0.0/8"), true);
  assert.equal(m("http://11.1.2.3/", "10.0.0.0/8"), false);
  assert.equal(m("http://127.0.0.1/", "127.0.0.1"), true);
  assert.equal(m("http://127.0.0.10/", "127.0.0.1"), false);
  assert.equal(m("http://[::1]:8080/", "::1"), true);
  assert.equal(m("http://[::1]:8080/", "[::1]:8080"), true);
  assert.equal(m("http://[::1]:8080/", "[::1]:9090"), false);
  assert.equal(m("http://[2001:db8::5]/", "2001:db8::/32"), true);
  assert.equal(m("http://h.test:8080/", "h.test:8080"), true);
  assert.equal(m("http://h.test:8081/", "h.test:8080"), false);
  assert.equal(m("https://h.test/", "h.test:443"), true);
  assert.equal(m("http://h.test/", ""), false);
});

test("proxy: precedence of request, session and environment settings", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const url = new URL("https://api.test/");
  const plain = new URL("http://api.test/");
  const on = (e: Record<string, string>) => ({ trustEnv: true, env: env(e) });
  // The session's proxy beats the environment's.
  assert.equal(
    proxyFor(url, "http://mine:1", on({ HTTPS_PROXY: "http://env:2" }))?.host,
    "mine:1",
  );
  // null: no proxy at all; undefined: the environment's.
  assert.equal(proxyFor(url, null, on({ HTTPS_PROXY: "http://env:2" })), null);
  assert.equal(
    proxyFor(url, undefined, on({ HTTPS_PROXY: "http://env:2" }))?.host,
    "env:2",
  );
  assert.equal(
    proxyFor(url, undefined, {
      trustEnv: false,
      env: env({ HTTPS_PROXY: "http://env:2" }),
    }),
    null,
  );
  // Lowercase wins; ALL_PROXY is the fallback; empty counts as unset.
  assert.equal(
    proxyFor(
      url,
      undefined,
      on({ https_proxy: "http://low:1", HTTPS_PROXY: "http://up:2" }),
    )
      ?.host,
    "low:1",
  );
  assert.equal(
    proxyFor(url, undefined, on({ https_proxy: "", ALL_PROXY: "http://all:3" }))
      ?.host,
    "all:3",
  );
  // httpoxy: HTTP_PROXY is ignored in a CGI request, http_proxy is not.
  assert.equal(
    proxyFor(
      plain,
      undefined,
      on({ HTTP_PROXY: "http://evil:1", REQUEST_METHOD: "GET" }),
    ),
    null,
  );
  assert.equal(
    proxyFor(
      plain,
      undefined,
      on({ http_proxy: "http://ok:1", REQUEST_METHOD: "GET" }),
    )
      ?.host,
    "ok:1",
  );
  // Per scheme, with an undefined key falling back to the environment.
  const cfg = { http: "http://h:1", noProxy: "skip.test" };
  assert.equal(proxyFor(plain, cfg, on({}))?.host, "h:1");
  assert.equal(
    proxyFor(url, cfg, on({ HTTPS_PROXY: "http://env:2" }))?.host,
    "env:2",
  );
  assert.equal(
    proxyFor(url, { ...cfg, https: null }, on({ HTTPS_PROXY: "http://env:2" })),
    null,
  );
  assert.equal(proxyFor(new URL("http://a.skip.test/"), cfg, on({})), null);
  // NO_PROXY from the environment applies to the session's proxy too.
  assert.equal(
    proxyFor(url, "http://mine:1", on({ NO_PROXY: "api.test" })),
    null,
  );
  // A bare host:port is an http proxy; other schemes are refused.
  assert.equal(proxyFor(url, "proxy:3128", on({}))?.href, "http://proxy:3128/");
  assert.throws(() => proxyFor(url, "ftp://proxy:21", on({})), TypeError);
});

test("proxy: the environment's proxy variables are read when the session is made", async () => {
  const origin = await serve(echo);
  const proxy = await decoy();
  try {
    await withEnv({}, async () => {
      await using before = new Session();
      process.env.HTTP_PROXY = proxy.url;
      const r = await before.get(`${origin.origin}/direct`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.equal(proxy.connections(), 0);
      await using after = new Session({ timeout: 5_000 });
      await assert.rejects(
        after.get(`${origin.origin}/proxied`),
        ConnectionError,
      );
    });
    assert.equal(proxy.connections(), 1);
    assert.deepEqual(origin.seen.map((x) => x.url), ["/direct"]);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test(
  "proxy: plain HTTP goes through tinyproxy to a local origin",
  { skip },
  async () => {
    const origin = await serve(echo);
    const proxy = await startTinyproxy();
    try {
      await using s = new Session({ proxy: proxy.url, trustEnv: false });
      const r = await s.get(`${origin.origin}/through?x=1`);
      assert.equal(r.status, 200);
      assert.equal((await r.json()).url, "/through?x=1");
      assert.equal(
        proxy.heads[0].line,
        `GET ${origin.origin}/through?x=1 HTTP/1.1`,
      );
      assert.match(String(origin.seen[0].headers.via), /tinyproxy/);
    } finally {
      await proxy.close();
      await origin.close();
    }
  },
);

test("proxy: HTTPS goes through tinyproxy with CONNECT", { skip }, async () => {
  const origin = await serveTls();
  const proxy = await startTinyproxy();
  try {
    await using s = new Session({
      proxy: proxy.url,
      trustEnv: false,
      tls: { caCerts: [CA] },
    });
    const r = await s.get(`${origin.origin}/secret`);
    assert.equal(await r.text(), "ok /secret");
    assert.equal(proxy.heads.length, 1);
    assert.equal(
      proxy.heads[0].line,
      `CONNECT 127.0.0.1:${origin.port} HTTP/1.1`,
    );
    assert.equal(origin.handshakes, 1);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test(
  "proxy: credentials go to the proxy only, for HTTP and CONNECT",
  { skip },
  async () => {
    const origin = await serve(echo);
    const secure = await serveTls();
    const proxy = await startTinyproxy({ auth: ["user", "s3cret-pass"] });
    try {
      const url = new URL(proxy.url);
      url.username = "user";
      url.password = "s3cret-pass";
      await using s = new Session({
        proxy: url.href,
        trustEnv: false,
        tls: { caCerts: [CA] },
      });
      const r = await s.get(`${origin.origin}/auth`);
      assert.equal(r.status, 200);
      if ("Deno" in globalThis) {
        // Deno's client would repeat Proxy-Authorization inside the tunnel,
        // to the origin: the session refuses instead of leaking.
        await assert.rejects(
          s.get(`${secure.origin}/auth`),
          UnsupportedTransportError,
        );
        assert.equal(secure.requests.length, 0);
      } else {
        const r2 = await s.get(`${secure.origin}/auth`);
        assert.equal(await r2.text(), "ok /auth");
        assert.equal(
          secure.requests[0].headers["proxy-authorization"],
          undefined,
        );
      }
      assert.equal(proxy.heads.length, "Deno" in globalThis ? 1 : 2);
      for (const head of proxy.heads) {
        assert.equal(
          head.headers["proxy-authorization"],
          basic("user", "s3cret-pass"),
        );
      }
      // The origins never saw the proxy's credentials.
      assert.equal(origin.seen[0].headers["proxy-authorization"], undefined);
      assert.equal(origin.seen[0].headers.authorization, undefined);

      // Wrong credentials are refused by the proxy, the origin is not reached.
      await using wrong = new Session({
        proxy: proxy.url.replace("//", "//user:nope@"),
        trustEnv: false,
      });
      const r3 = await wrong.get(`${origin.origin}/denied`);
      // tinyproxy 1.11 answers 401 where RFC 9110 says 407.
      assert.ok([401, 407].includes(r3.status), `status ${r3.status}`);
      await r3.body?.cancel();
      assert.equal(origin.seen.length, 1);
    } finally {
      await proxy.close();
      await secure.close();
      await origin.close();
    }
  },
);

test(
  "proxy: environment variables are read, NO_PROXY bypasses, trustEnv: false ignores them",
  { skip },
  async () => {
    const origin = await serve(echo);
    const proxy = await startTinyproxy();
    try {
      await withEnv({ HTTP_PROXY: proxy.url }, async () => {
        await using s = new Session();
        await (await s.get(`${origin.origin}/env`)).body?.cancel();
      });
      assert.equal(proxy.heads.length, 1);
      assert.match(String(origin.seen[0].headers.via), /tinyproxy/);

      await withEnv({
        http_proxy: proxy.url,
        NO_PROXY: `127.0.0.1:${origin.port}`,
      }, async () => {
        await using s = new Session();
        await (await s.get(`${origin.origin}/bypass`)).body?.cancel();
      });
      await withEnv({ HTTP_PROXY: proxy.url }, async () => {
        await using s = new Session({ trustEnv: false });
        await (await s.get(`${origin.origin}/untrusted-env`)).body?.cancel();
        await using t = new Session({ proxy: null });
        await (await t.get(`${origin.origin}/null`)).body?.cancel();
      });
      await withEnv(
        { HTTP_PROXY: proxy.url, REQUEST_METHOD: "GET" },
        async () => {
          await using s = new Session();
          await (await s.get(`${origin.origin}/httpoxy`)).body?.cancel();
        },
      );
      // None of these went through the proxy.
      assert.equal(proxy.heads.length, 1);
      assert.deepEqual(
        origin.seen.map((r) => [r.url, r.headers.via === undefined]),
        [
          ["/env", false],
          ["/bypass", true],
          ["/untrusted-env", true],
          ["/null", true],
          ["/httpoxy", true],
        ],
      );
    } finally {
      await proxy.close();
      await origin.close();
    }
  },
);

test("proxy: a session's noProxy bypasses its proxy", { skip }, async () => {
  const origin = await serve(echo);
  const proxy = await startTinyproxy();
  try {
    await using s = new Session({
      proxy: { http: proxy.url, noProxy: ["127.0.0.1"] },
      trustEnv: false,
    });
    await (await s.get(`${origin.origin}/direct`)).body?.cancel();
    await (await s.get(`http://localhost:${origin.port}/proxied`)).body
      ?.cancel();
    assert.deepEqual(proxy.heads.map((h) => h.line), [
      `GET http://localhost:${origin.port}/proxied HTTP/1.1`,
    ]);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test("proxy: the session's proxy beats HTTPS_PROXY in the environment", {
  skip,
}, async () => {
  const origin = await serveTls();
  const proxy = await startTinyproxy();
  const bad = await decoy();
  try {
    await withEnv({ HTTPS_PROXY: bad.url, https_proxy: bad.url }, async () => {
      await using s = new Session({ proxy: proxy.url, tls: { caCerts: [CA] } });
      const r = await s.get(`${origin.origin}/mine`);
      assert.equal(await r.text(), "ok /mine");
      // Per request too: a request's proxy beats the session's.
      await using t = new Session({ proxy: bad.url, tls: { caCerts: [CA] } });
      const r2 = await t.get(`${origin.origin}/request`, { proxy: proxy.url });
      assert.equal(await r2.text(), "ok /request");
    });
    assert.equal(bad.connections(), 0);
    assert.equal(
      proxy.heads.filter((h) => h.line.startsWith("CONNECT")).length,
      2,
    );
  } finally {
    await bad.close();
    await proxy.close();
    await origin.close();
  }
});
