import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import * as net from "node:net";
import { echo, serve } from "./_server.ts";
import { until } from "./_wait.ts";
import {
  ConnectionError,
  HTTPError,
  raiseForStatus,
  type RequestOptions,
  Session,
  SessionClosedError,
  SessionError,
  TimeoutError,
} from "../mod.ts";

test("errors: raiseForStatus throws HTTPError with the response for 4xx/5xx only", async () => {
  const server = await serve((req, res) => {
    res.statusCode = Number(new URL(req.url!, "http://x").pathname.slice(1));
    res.end("status body");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const ok = await s.get("/204");
    assert.equal(raiseForStatus(ok), ok);
    const redirect = await s.get("/304");
    assert.equal(raiseForStatus(redirect), redirect);
    for (const status of [404, 500]) {
      const r = await s.get(`/${status}?token=secret`);
      assert.throws(() => raiseForStatus(r), (error: unknown) => {
        assert.ok(error instanceof HTTPError);
        assert.ok(error instanceof SessionError);
        assert.equal(error.response, r);
        assert.match(error.message, new RegExp(`^${status} `));
        assert.ok(
          !error.message.includes("secret"),
          "no query string in the message",
        );
        return true;
      });
      assert.equal(await r.text(), "status body");
    }
  } finally {
    await server.close();
  }
});

test("errors: a server that never answers is cut off by the timeout with TimeoutError", async () => {
  const held: ServerResponse[] = [];
  const server = await serve((_req, res) => {
    held.push(res);
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 5_000 });
    const started = Date.now();
    await assert.rejects(
      s.get("/stall", { timeout: 150 }),
      (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.timeout, 150);
        assert.equal(error.request?.method, "GET");
        return true;
      },
    );
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 4_000, `took ${took} ms`);
    assert.equal(held.length, 1);
  } finally {
    await server.close();
  }
});

test("errors: the timeout covers the whole redirect chain", async () => {
  const held: ServerResponse[] = [];
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.statusCode = 302;
      res.setHeader("location", "/stall");
      res.end();
    } else held.push(res);
  });
  try {
    await using s = new Session({ baseUrl: server.origin, timeout: 200 });
    await assert.rejects(s.get("/start"), TimeoutError);
    assert.deepEqual(server.seen.map((x) => x.url), ["/start", "/stall"]);
  } finally {
    await server.close();
  }
});

test("errors: a caller's signal aborts the request with its reason", async () => {
  const held: ServerResponse[] = [];
  const server = await serve((_req, res) => {
    held.push(res);
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const controller = new AbortController();
    const pending = s.get("/stall", { signal: controller.signal });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 0));
    const reason = new Error("user gave up");
    controller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
    const already = AbortSignal.abort(new Error("before"));
    await assert.rejects(s.get("/x", { signal: already }), /before/);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test("errors: connection refused rejects with ConnectionError carrying the runtime's error", async () => {
  // A port that was just free: bind, note it, close.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await using s = new Session({ auth: ["user", "hunter2"] });
  await assert.rejects(
    s.get(`http://127.0.0.1:${port}/x?key=secret`),
    (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.ok(error.cause !== undefined);
      assert.match(
        error.message,
        /^GET http:\/\/127\.0\.0\.1:\d+\/x: connection failed/,
      );
      assert.ok(!error.message.includes("secret"));
      assert.ok(!error.message.includes("hunter2"));
      return true;
    },
  );
});

test("errors: a request with a body, with or without a signal, fails with the error and request it met: refused, timed out, closed, bad json", async () => {
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
  const kinds = (): Array<[RequestOptions, RegExp]> => {
    const form = new FormData();
    form.append("a", "b");
    return [
      [{ json: { a: 1 } }, /^\{"a":1\}$/],
      [{ body: "s" }, /^s$/],
      [{ body: "" }, /^$/],
      [{ body: new Blob(["b"]) }, /^b$/],
      [{ body: new URLSearchParams("a=1") }, /^a=1$/],
      [{ body: form }, /name="a"\r\n\r\nb\r\n/],
    ];
  };
  /** Rejects as `type`, naming the request, with a message matching. */
  const fails = async (
    pending: Promise<unknown>,
    type: new (...args: never[]) => Error,
    method: string,
    url: string,
    message: string,
  ) => {
    await assert.rejects(pending, (error: Error & { request?: Request }) => {
      assert.ok(error instanceof type, String(error));
      assert.equal(error.request?.method, method);
      assert.equal(error.request?.url, url);
      assert.ok(error.message.startsWith(`${method} ${url}${message}`));
      return true;
    });
  };
  try {
    for (const own of [{}, { signal: new AbortController().signal }]) {
      for (const method of ["POST", "PUT"]) {
        for (const [init, body] of kinds()) {
          await using s = new Session();
          const options = { ...init, ...own };
          await fails(
            s.request(method, `${refused}/x`, options),
            ConnectionError,
            method,
            `${refused}/x`,
            ": connection failed",
          );
          await fails(
            s.request(method, `${stalls.origin}/t`, {
              ...options,
              timeout: 50,
            }),
            TimeoutError,
            method,
            `${stalls.origin}/t`,
            " timed out after 50 ms",
          );
          const from = stalls.seen.length;
          const pending = s.request(method, `${stalls.origin}/c`, options);
          await until(() => stalls.seen.length > from, "the request arrived");
          await s.close();
          await fails(
            pending,
            SessionClosedError,
            method,
            `${stalls.origin}/c`,
            ": the session is closed",
          );
          const arrived = stalls.seen.slice(from);
          assert.deepEqual(arrived.map((x) => x.method), [method]);
          assert.match(arrived[0].body, body);
          for (const answer of answers.splice(0)) answer();
        }
        await using s = new Session();
        await assert.rejects(
          s.request(method, refused, { ...own, json: 1n }),
          (error: Error) =>
            error instanceof TypeError &&
            /json value cannot be serialised/.test(error.message),
        );
      }
    }
  } finally {
    for (const answer of answers) answer();
    await stalls.close();
  }
});
