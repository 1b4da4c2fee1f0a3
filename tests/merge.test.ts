import { test } from "node:test";
import assert from "node:assert/strict";
import {
  appendParams,
  assertHeader,
  mergeCookies,
  mergeHeaders,
  mergeHooks,
  mergeParams,
  mergeSetting,
} from "../merge.ts";

test("merge: request headers override the session's, case-insensitively", () => {
  const base = new Headers({ "X-Test": "session", Accept: "text/plain" });
  const out = mergeHeaders(base, { "x-TEST": "request", "x-new": "1" });
  assert.equal(out.get("x-test"), "request");
  assert.equal(out.get("accept"), "text/plain");
  assert.equal(out.get("x-new"), "1");
  assert.equal(
    base.get("x-test"),
    "session",
    "the session's headers are untouched",
  );
  assert.equal(base.has("x-new"), false);
});

test("merge: null removes a session header, undefined inherits it", () => {
  const base = new Headers({ "x-a": "1", "x-b": "2" });
  const out = mergeHeaders(base, { "X-A": null, "x-b": undefined });
  assert.equal(out.has("x-a"), false);
  assert.equal(out.get("x-b"), "2");
  assert.equal(base.get("x-a"), "1");
});

test("merge: header pairs may repeat a name; numbers become strings", () => {
  const out = mergeHeaders(new Headers({ accept: "a/b" }), [
    ["accept", "text/html"],
    ["accept", "application/json"],
  ]);
  assert.equal(out.get("accept"), "text/html, application/json");
  assert.equal(mergeHeaders(new Headers(), { "x-n": 5 }).get("x-n"), "5");
  assert.equal(
    mergeHeaders(new Headers({ a: "1" }), new Headers({ b: "2" })).get("a"),
    "1",
  );
});

test("merge: CR, LF and NUL in header values and bad names are refused", () => {
  for (
    const value of [
      "a\r\nx-injected: 1",
      "a\nb",
      "a\rb",
      "a\0b",
      "trailing\r\n",
    ]
  ) {
    assert.throws(
      () => mergeHeaders(new Headers(), { "x-a": value }),
      TypeError,
    );
  }
  assert.throws(
    () => mergeHeaders(new Headers(), { "bad name": "v" }),
    TypeError,
  );
  assert.throws(() => mergeHeaders(new Headers(), { "x:y": "v" }), TypeError);
  assert.throws(() => assertHeader("", "v"), TypeError);
  assertHeader("x-ok", "tab\tand spaces are fine");
});

test("merge: request params replace the session's per key; arrays repeat; null removes", () => {
  const base = new URLSearchParams([["lang", "en"], ["tag", "s1"], [
    "tag",
    "s2",
  ], ["keep", "1"]]);
  const out = mergeParams(base, {
    tag: ["a", "b"],
    lang: null,
    n: 3,
    flag: true,
  });
  assert.equal(out.toString(), "keep=1&tag=a&tag=b&n=3&flag=true");
  assert.equal(base.toString(), "lang=en&tag=s1&tag=s2&keep=1");
});

test("merge: undefined params inherit; null and undefined array items are dropped", () => {
  const out = mergeParams(new URLSearchParams("a=1"), {
    a: undefined,
    b: [1, null, undefined, 2],
    c: undefined,
  });
  assert.equal(out.toString(), "a=1&b=1&b=2");
  assert.equal(mergeParams(new URLSearchParams("a=1")).toString(), "a=1");
  assert.equal(
    mergeParams(new URLSearchParams("a=1"), [["a", "2"], ["a", "3"]])
      .toString(),
    "a=2&a=3",
  );
  assert.equal(
    mergeParams(new URLSearchParams(), new URLSearchParams("x=1")).toString(),
    "x=1",
  );
});

test("merge: param values are encoded, never injected", () => {
  const out = mergeParams(new URLSearchParams(), { q: "a&b=c#d", "k&": "v" });
  assert.equal(out.toString(), "q=a%26b%3Dc%23d&k%26=v");
  assert.equal(
    appendParams("http://h/p?x=1#frag", out),
    "http://h/p?x=1&q=a%26b%3Dc%23d&k%26=v#frag",
  );
  assert.equal(
    appendParams("http://h/p?", new URLSearchParams("a=1")),
    "http://h/p?a=1",
  );
  assert.equal(appendParams("http://h/p", new URLSearchParams()), "http://h/p");
});

test("merge: request cookies override jar cookies by name; null drops one", () => {
  assert.equal(
    mergeCookies("sid=1; theme=dark; t=x", {
      theme: "light",
      t: null,
      extra: "e",
    }),
    "sid=1; theme=light; extra=e",
  );
  assert.equal(mergeCookies("", { a: "1" }), "a=1");
  assert.equal(mergeCookies("a=1", undefined), "a=1");
  assert.equal(mergeCookies("a=1", { a: null }), "");
  assert.equal(mergeCookies("a=1; b=2", null), "", "null removes them all");
  assert.throws(() => mergeCookies("", { a: "x; admin=1" }), TypeError);
  assert.throws(() => mergeCookies("", { "a b": "1" }), TypeError);
});

test("merge: hooks run session first; null drops the session's", () => {
  assert.deepEqual(mergeHooks([1, 2], [3]), [1, 2, 3]);
  assert.deepEqual(mergeHooks([1], undefined), [1]);
  assert.deepEqual(mergeHooks([1], null), []);
  assert.deepEqual(mergeHooks(undefined, [2]), [2]);
});

test("merge: scalar settings follow undefined-inherits, null-removes", () => {
  assert.equal(mergeSetting(5, undefined), 5);
  assert.equal(mergeSetting(5, null), undefined);
  assert.equal(mergeSetting(5, 0), 0);
  assert.equal(mergeSetting<number>(undefined, 7), 7);
});
