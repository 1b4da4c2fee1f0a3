import { test } from "node:test";
import assert from "node:assert/strict";
import { redirectThenFail, serve, type TestServer } from "./_server.ts";
import {
  ConnectionError,
  RetryError,
  type RetryState,
  Session,
  SessionClosedError,
} from "../mod.ts";
import {
  backoffDelay,
  parseRetryAfter,
  resolveRetry,
  retryDelay,
} from "../_retry.ts";

/** A server that answers `statuses` in turn, then 200 "ok". */
function sequence(
  statuses: Array<number | [number, Record<string, string>]>,
): Promise<TestServer> {
  let i = 0;
  return serve((_req, res) => {
    const next = statuses[i++];
    if (next === undefined) {
      res.end("ok");
      return;
    }
    const [status, headers] = Array.isArray(next) ? next : [next, {}];
    res.writeHead(status, headers);
    res.end(`attempt ${i}`);
  });
}

const FAST = { backoff: 1, maxDelay: 20 };

test("retry: a 503 is retried until it succeeds; retryCount says how often", async () => {
  const server = await sequence([503, 503]);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, ...FAST },
    });
    const r = await s.get("/x");
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    assert.equal(r.retryCount, 2);
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("retry: the limit bounds the attempts; the last response is returned", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 502;
    res.end("bad gateway");
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, ...FAST },
    });
    const r = await s.get("/x");
    assert.equal(r.status, 502);
    assert.equal(await r.text(), "bad gateway");
    assert.equal(r.retryCount, 2);
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("retry: off by default; statuses outside the list are not retried", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const r = await s.get("/x");
    assert.equal(r.status, 503);
    assert.equal(r.retryCount, 0);
    assert.equal(server.seen.length, 1);

    const only429 = await s.get("/y", {
      retry: { limit: 3, statusCodes: [429], ...FAST },
    });
    assert.equal(only429.status, 503);
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test("retry: POST is not retried unless its method is listed", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, ...FAST },
    });
    await (await s.post("/p", { body: "x" })).body?.cancel();
    await (await s.patch("/p", { body: "x" })).body?.cancel();
    assert.equal(server.seen.length, 2);
    for (const method of ["PUT", "DELETE", "OPTIONS", "HEAD"]) {
      await (await s.request(method, "/i")).body?.cancel();
    }
    // Four idempotent methods, three attempts each.
    assert.equal(server.seen.length, 2 + 4 * 3);
    const r = await s.post("/p", {
      body: "x",
      retry: { methods: ["POST"] },
    });
    assert.equal(r.retryCount, 2);
    assert.equal(server.seen.length, 14 + 3);
  } finally {
    await server.close();
  }
});

test("retry: every attempt replays the body (string, bytes, Blob, FormData, form, json)", async () => {
  const server = await serve((req, res) => {
    // Every body is refused once, then accepted.
    const n = server.seen.filter((s) => s.url === req.url).length;
    res.statusCode = n === 1 ? 503 : 200;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 1, methods: ["PUT"], ...FAST },
    });
    const fd = new FormData();
    fd.set("field", "value");
    fd.set("file", new Blob(["file-bytes"]), "f.txt");
    const bodies: Array<[string, Parameters<Session["put"]>[1]]> = [
      ["string", { body: "plain text" }],
      ["bytes", { body: new TextEncoder().encode("some bytes") }],
      ["blob", { body: new Blob(["a blob"]) }],
      ["formdata", { body: fd }],
      ["form", { form: { a: "1", b: "2" } }],
      ["json", { json: { a: [1, 2] } }],
    ];
    for (const [name, init] of bodies) {
      const r = await s.put(`/${name}`, init);
      assert.equal(r.status, 200, name);
      assert.equal(r.retryCount, 1, name);
      const seen = server.seen.filter((x) => x.url === `/${name}`);
      assert.equal(seen.length, 2, name);
      assert.ok(seen[0].body.length > 0, name);
      // A multipart body built again may get a new boundary; the content
      // must be the same.
      const normal = (x: (typeof seen)[number]) => {
        const type = String(x.headers["content-type"]);
        const boundary = /boundary=(.+)$/.exec(type)?.[1];
        return boundary === undefined ? [type, x.body] : [
          type.replace(boundary, "B"),
          x.body.replaceAll(boundary, "B"),
        ];
      };
      assert.deepEqual(normal(seen[1]), normal(seen[0]), name);
    }
    assert.match(
      server.seen.find((x) => x.url === "/formdata")!.body,
      /file-bytes/,
    );
  } finally {
    await server.close();
  }
});

test("retry: a one-shot stream body fails clearly instead of being retried", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, methods: ["POST"], ...FAST },
    });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("streamed"));
        c.close();
      },
    });
    await assert.rejects(s.post("/upload?token=secret", { body }), (e) => {
      assert.ok(e instanceof RetryError);
      assert.equal(e.attempts, 1);
      assert.equal(e.response?.status, 503);
      assert.match(e.message, /POST .*\/upload.*one-shot stream/);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0].body, "streamed");
  } finally {
    await server.close();
  }
});

test("retry: a connection reset is retried; with retryOnConnectionError false it is not", async () => {
  let resets = 2;
  const server = await serve((req, res) => {
    if (resets-- > 0) {
      req.socket.destroy();
      return;
    }
    res.end("ok");
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, ...FAST },
    });
    const r = await s.get("/x");
    assert.equal(await r.text(), "ok");
    assert.equal(r.retryCount, 2);
    assert.equal(server.seen.length, 3);

    // A fresh session: on a reused keep-alive connection the runtime itself
    // may re-send once after a reset (hyper does), which is not ours to count.
    resets = 1;
    await using fresh = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, ...FAST, retryOnConnectionError: false },
    });
    await assert.rejects(fresh.get("/y"), ConnectionError);
    assert.equal(server.seen.length, 4);
  } finally {
    await server.close();
  }
});

test("retry: attempts exhausted on connection errors reject with RetryError and the last cause", async () => {
  const server = await serve((req) => {
    req.socket.destroy();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, ...FAST },
    });
    await assert.rejects(s.get("/x?api_key=hunter2"), (e) => {
      assert.ok(e instanceof RetryError);
      assert.equal(e.attempts, 3);
      assert.ok(e.cause instanceof ConnectionError);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    assert.equal(server.seen.length, 3);
  } finally {
    await server.close();
  }
});

test("retry: a refused connection is retried, then RetryError; its message keeps no secrets", async () => {
  const probe = await serve(() => {});
  const origin = probe.origin;
  await probe.close();
  await using s = new Session({ retry: { limit: 2, ...FAST } });
  let calls = 0;
  await assert.rejects(
    s.get(`${origin.replace("//", "//user:pw@")}/x?token=secret`, {
      hooks: { beforeRetry: [() => void calls++] },
    }),
    (e) => {
      assert.ok(e instanceof RetryError);
      assert.equal(e.attempts, 3);
      assert.doesNotMatch(e.message, /secret|pw@|user:/);
      assert.doesNotMatch(String((e.cause as Error).message), /secret/);
      return true;
    },
  );
  assert.equal(calls, 2);
});

test("retry: Retry-After in seconds is honoured", async () => {
  const server = await sequence([[429, { "retry-after": "1" }]]);
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, backoff: 1, maxDelay: 5_000 },
    });
    const delays: number[] = [];
    const r = await s.get("/x", {
      hooks: { beforeRetry: [(st: RetryState) => void delays.push(st.delay)] },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(delays, [1_000]);
    assert.equal(server.seen.length, 2);
    const gap = server.seen[1].at - server.seen[0].at;
    assert.ok(gap >= 950, `waited ${gap} ms for Retry-After: 1`);
  } finally {
    await server.close();
  }
});

test("retry: Retry-After as an HTTP-date is honoured", async () => {
  const server = await serve((_req, res) => {
    if (server.seen.length === 1) {
      const when = new Date(Date.now() + 2_000).toUTCString();
      res.writeHead(503, { "retry-after": when });
      res.end();
      return;
    }
    res.end("ok");
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 1, backoff: 1, maxDelay: 5_000 },
    });
    const delays: number[] = [];
    const r = await s.get("/x", {
      hooks: { beforeRetry: [(st: RetryState) => void delays.push(st.delay)] },
    });
    assert.equal(r.status, 200);
    assert.equal(delays.length, 1);
    // The date has whole seconds: 2 s ahead is between 1 and 2 s away.
    assert.ok(delays[0] > 900 && delays[0] <= 2_000, `delay ${delays[0]}`);
    const gap = server.seen[1].at - server.seen[0].at;
    assert.ok(gap >= delays[0] - 20, `gap ${gap} < delay ${delays[0]}`);
  } finally {
    await server.close();
  }
});

test("retry: a Retry-After beyond maxDelay means no retry, not a long sleep", async () => {
  const future = () => new Date(Date.now() + 3_600_000).toUTCString();
  const server = await serve((req, res) => {
    res.writeHead(503, {
      "retry-after": req.url === "/date" ? future() : "3600",
    });
    res.end("later");
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 5, backoff: 1, maxDelay: 1_000 },
    });
    for (const path of ["/seconds", "/date"]) {
      const r = await s.get(path);
      assert.equal(r.status, 503);
      assert.equal(r.retryCount, 0);
      assert.equal(await r.text(), "later");
    }
    assert.equal(server.seen.length, 2);
    // Ignoring Retry-After falls back to the backoff.
    const r = await s.get("/seconds", { retry: { respectRetryAfter: false } });
    assert.equal(r.retryCount, 5);
    assert.equal(server.seen.length, 2 + 6);
  } finally {
    await server.close();
  }
});

test("retry: backoff waits stay within full-jitter bounds, observed at the server", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  try {
    const base = 8;
    const cap = 40;
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 5, backoff: base, maxDelay: cap },
    });
    const states: RetryState[] = [];
    const r = await s.get("/x", {
      hooks: { beforeRetry: [(st) => void states.push(st)] },
    });
    assert.equal(r.retryCount, 5);
    assert.equal(server.seen.length, 6);
    assert.deepEqual(states.map((st) => st.retryCount), [1, 2, 3, 4, 5]);
    for (const [i, st] of states.entries()) {
      const ceiling = Math.min(cap, base * 2 ** i);
      assert.ok(
        st.delay >= 0 && st.delay <= ceiling,
        `retry ${i + 1}: ${st.delay} ms`,
      );
      assert.equal(st.response?.status, 500);
      // Timers may fire a little early by the clock the server reads.
      const gap = server.seen[i + 1].at - server.seen[i].at;
      assert.ok(gap >= st.delay - 5, `gap ${gap} ms < delay ${st.delay} ms`);
    }
  } finally {
    await server.close();
  }
});

test("retry: backoffDelay is exponential with full jitter and a cap", () => {
  const policy = resolveRetry(undefined, { backoff: 100, maxDelay: 1_000 });
  const top = () => 0.999999;
  assert.equal(backoffDelay(policy, 1, () => 0), 0);
  assert.equal(backoffDelay(policy, 1, top), 99);
  assert.equal(backoffDelay(policy, 2, top), 199);
  assert.equal(backoffDelay(policy, 3, top), 399);
  assert.equal(backoffDelay(policy, 5, top), 999);
  assert.equal(backoffDelay(policy, 30, top), 999);
  const custom = resolveRetry(policy, { backoff: (n) => n * 7 });
  assert.equal(backoffDelay(custom, 3), 21);
  assert.equal(backoffDelay(resolveRetry(custom, { maxDelay: 10 }), 3), 10);
});

test("retry: parseRetryAfter reads seconds and dates, refuses noise", () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 0);
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), 60_000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter("1.5", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("2015", now), 2_015_000);
  assert.equal(parseRetryAfter(null, now), undefined);
  // Retry-After is only read on 413, 429 and 503.
  const policy = resolveRetry(undefined, { limit: 1, backoff: 0 });
  const on500 = new Response(null, {
    status: 500,
    headers: { "retry-after": "5" },
  });
  assert.equal(retryDelay(policy, 1, on500), 0);
});

test("retry: session policy, request overrides field by field, null turns it off", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, statusCodes: [503], ...FAST },
    });
    assert.equal(s.retry.limit, 2);
    assert.equal((await s.get("/a", { retry: null })).retryCount, 0);
    assert.equal(server.seen.length, 1);
    // A number is { limit }: the session's statusCodes still apply.
    assert.equal((await s.get("/b", { retry: 1 })).retryCount, 1);
    assert.equal(server.seen.length, 3);
    assert.equal(
      (await s.get("/c", { retry: { statusCodes: [500] } })).retryCount,
      0,
    );
    assert.equal(server.seen.length, 4);
    s.retry = 1;
    assert.equal(s.retry.limit, 1);
    assert.equal((await s.get("/d")).retryCount, 1);
    s.retry = null;
    assert.equal((await s.get("/e")).retryCount, 0);
    assert.throws(() => new Session({ retry: -1 }), RangeError);
    assert.throws(() => new Session({ retry: { maxDelay: NaN } }), RangeError);
    await assert.rejects(s.get("/f", { retry: 1.5 }), RangeError);
  } finally {
    await server.close();
  }
});

test("retry: a retried hop does not restart the redirect chain", async () => {
  const server = await serve(redirectThenFail(302, 2, "arrived"));
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, ...FAST },
    });
    const r = await s.get("/start");
    assert.equal(await r.text(), "arrived");
    assert.equal(r.retryCount, 2);
    assert.equal(r.history.length, 1);
    assert.deepEqual(server.seen.map((x) => x.url), [
      "/start",
      "/target",
      "/target",
      "/target",
    ]);
  } finally {
    await server.close();
  }
});

test("retry: a 307 hop that is retried sends the body again each time", async () => {
  const server = await serve(redirectThenFail(307, 1, "stored"));
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 2, methods: ["POST"], ...FAST },
    });
    const r = await s.post("/start", { json: { n: 1 } });
    assert.equal(await r.text(), "stored");
    assert.equal(r.retryCount, 1);
    assert.deepEqual(
      server.seen.map((x) => [x.method, x.url, x.body]),
      [
        ["POST", "/start", '{"n":1}'],
        ["POST", "/target", '{"n":1}'],
        ["POST", "/target", '{"n":1}'],
      ],
    );
    assert.equal(server.seen[2].headers["content-type"], "application/json");
  } finally {
    await server.close();
  }
});

test("retry: closing the session during a backoff wait rejects at once", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    const s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, backoff: 60_000, maxDelay: 60_000 },
    });
    const started = performance.now();
    await assert.rejects(
      s.get("/x", {
        hooks: { beforeRetry: [() => void s.close()] },
      }),
      SessionClosedError,
    );
    assert.ok(performance.now() - started < 5_000);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("retry: the caller's signal cuts a backoff wait short with its reason", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      retry: { limit: 3, backoff: 60_000, maxDelay: 60_000 },
    });
    const controller = new AbortController();
    const reason = new Error("user gave up");
    await assert.rejects(
      s.get("/x", {
        signal: controller.signal,
        hooks: { beforeRetry: [() => controller.abort(reason)] },
      }),
      (e) => e === reason,
    );
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("retry: send() retries a prepared request and replays its body", async () => {
  const server = await serve((_req, res) => {
    res.statusCode = server.seen.length === 1 ? 503 : 200;
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const request = await s.prepare("PUT", "/doc", { body: "contents" });
    const r = await s.send(request, { retry: { limit: 1, ...FAST } });
    assert.equal(r.status, 200);
    assert.equal(r.retryCount, 1);
    assert.deepEqual(server.seen.map((x) => x.body), ["contents", "contents"]);
  } finally {
    await server.close();
  }
});
