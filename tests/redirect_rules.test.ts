import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { serve } from "./_server.ts";
import { Session } from "../mod.ts";
import {
  isRedirect,
  redirectMethod,
  resolveLocation,
  shouldStripAuth,
} from "../_redirect.ts";
import { RedirectError } from "../_errors.ts";

const u = (s: string) => new URL(s);

test("redirect rules: which statuses are followed", () => {
  assert.deepEqual(
    [300, 301, 302, 303, 304, 305, 307, 308].filter(isRedirect),
    [301, 302, 303, 307, 308],
  );
});

test("redirect rules: the method of the next hop", () => {
  const table: Array<[number, string, string]> = [
    [301, "POST", "GET"],
    [302, "POST", "GET"],
    [301, "PUT", "PUT"],
    [302, "DELETE", "DELETE"],
    [303, "POST", "GET"],
    [303, "PUT", "GET"],
    [303, "HEAD", "HEAD"],
    [303, "GET", "GET"],
    [307, "POST", "POST"],
    [308, "PATCH", "PATCH"],
  ];
  for (const [status, from, to] of table) {
    assert.equal(redirectMethod(status, from), to, `${status} ${from}`);
  }
});

test("redirect rules: Authorization is stripped on host, port or scheme change, except http:80 to https:443", () => {
  assert.equal(
    shouldStripAuth(u("http://a.test/x"), u("http://a.test/y")),
    false,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("https://a.test/")),
    false,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test:80/"), u("https://a.test:443/")),
    false,
  );
  assert.equal(
    shouldStripAuth(u("https://a.test/"), u("http://a.test/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test:8080/"), u("https://a.test/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("https://a.test:8443/")),
    true,
  );
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("http://a.test:81/")),
    true,
  );
  assert.equal(shouldStripAuth(u("http://a.test/"), u("http://b.test/")), true);
  assert.equal(
    shouldStripAuth(u("http://a.test/"), u("http://sub.a.test/")),
    true,
  );
});

test("redirect rules: Location is resolved, the fragment carried, bad ones refused", () => {
  assert.equal(
    resolveLocation("/n", "http://a.test/s?q=1#f").href,
    "http://a.test/n#f",
  );
  assert.equal(
    resolveLocation("n#g", "http://a.test/d/s#f").href,
    "http://a.test/d/n#g",
  );
  assert.equal(
    resolveLocation("//b.test/p", "https://a.test/").href,
    "https://b.test/p",
  );
  for (
    const bad of ["http://[::1", "file:///etc/passwd", "data:,x", "unix:/tmp/s"]
  ) {
    assert.throws(() => resolveLocation(bad, "http://a.test/"), RedirectError);
  }
});

test("redirect rules: a caller's signal aborts between redirect hops", async () => {
  const controller = new AbortController();
  const held: ServerResponse[] = [];
  const server = await serve((req, res) => {
    if (req.url === "/start") {
      res.statusCode = 302;
      res.setHeader("location", "/next");
      res.end();
    } else {
      held.push(res);
      controller.abort(new Error("stop"));
    }
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    await assert.rejects(
      s.get("/start", { signal: controller.signal }),
      /stop/,
    );
    assert.deepEqual(server.seen.map((x) => x.url), ["/start", "/next"]);
  } finally {
    await server.close();
  }
});
