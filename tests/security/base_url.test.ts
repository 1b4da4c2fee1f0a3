// axios CVE-2025-27152: with a baseUrl and credentials, a "path" that is
// really a URL on another origin must not receive them. "Another origin" is
// a loopback server on 127.0.0.2 or on another port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve, type TestServer } from "../_server.ts";
import { Session } from "../../mod.ts";

async function pair(): Promise<[TestServer, TestServer]> {
  return [await serve(echo), await serve(echo, { host: "127.0.0.2" })];
}

function credentialed(base: TestServer, allowAbsoluteUrls = false) {
  const s = new Session({
    baseUrl: `${base.origin}/api/`,
    auth: ["user", "secret"],
    headers: { "x-api-key": "k-123" },
    allowAbsoluteUrls,
  });
  s.cookies.set("sid", "abc");
  return s;
}

test("CVE-2025-27152: a protocol-relative path (//other/x) is refused, nothing reaches the other origin", async () => {
  const [base, evil] = await pair();
  try {
    await using s = credentialed(base);
    const path = `//${evil.origin.slice("http://".length)}/x`;
    await assert.rejects(s.get(path), /allowAbsoluteUrls/);
    assert.equal(evil.connections, 0);
    assert.equal(base.connections, 0);
  } finally {
    await Promise.all([base.close(), evil.close()]);
  }
});

test("CVE-2025-27152: an absolute URL to another origin is refused unless allowAbsoluteUrls", async () => {
  const [base, evil] = await pair();
  try {
    await using s = credentialed(base);
    await assert.rejects(s.get(`${evil.origin}/`), TypeError);
    await assert.rejects(s.post(`${evil.origin}/`, { json: {} }), TypeError);
    assert.equal(evil.connections, 0);
    // The same origin as the base, written absolutely, is fine.
    const r = await s.get(`${base.origin}/api/ok`);
    await r.body?.cancel();
    assert.equal(base.seen.length, 1);
    assert.match(String(base.seen[0].headers.authorization), /^Basic /);
  } finally {
    await Promise.all([base.close(), evil.close()]);
  }
});

test("CVE-2025-27152: whitespace, tab, CR/LF or backslashes cannot disguise another origin as a path", async () => {
  const [base, evil] = await pair();
  try {
    await using s = credentialed(base);
    const host = evil.origin.slice("http://".length);
    for (
      const path of [
        ` http://${host}/x`,
        `\thttp://${host}/x`,
        `ht\ttp://${host}/x`,
        `/http\r\n://${host}/x`,
        `\\\\${host}/x`,
        `/\\${host}/x`,
        `\n//${host}/x`,
      ]
    ) {
      await s.get(path).then(
        async (r) => {
          await r.body?.cancel();
          // Accepted only if it stayed on the base origin.
          assert.equal(new URL(r.url).origin, base.origin, path);
        },
        (e: unknown) => assert.ok(e instanceof TypeError, String(e)),
      );
    }
    assert.equal(evil.connections, 0);
  } finally {
    await Promise.all([base.close(), evil.close()]);
  }
});

test("CVE-2025-27152: with allowAbsoluteUrls the other origin is reached, without the base origin's cookies", async () => {
  const [base, other] = await pair();
  try {
    await using s = credentialed(base, true);
    const r = await s.get(`${other.origin}/x`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.equal(other.seen.length, 1);
    // The jar's cookie belongs to the base host and stays there.
    assert.equal(other.seen[0].headers.cookie, undefined);
  } finally {
    await Promise.all([base.close(), other.close()]);
  }
});
