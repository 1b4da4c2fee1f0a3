// Interop with Debian's curl: cookies curl wrote with -c are sent by the
// session after a load, and cookies the session saved are sent by curl -b.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNetscape } from "../cookiefile.ts";
import { Session } from "../mod.ts";
import { serve } from "./_server.ts";

function curl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sS", "--noproxy", "*", ...args], (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/** The cookies of a Cookie header, as a sorted list of "name=value". */
function cookiePairs(header: string | undefined): string[] {
  return (header ?? "").split(/;\s*/).filter(Boolean).sort();
}

test("curl -c → session load → server; session save → curl -b → server", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fetchkit-curl-"));
  const server = await serve((req, res) => {
    if (req.url === "/login") {
      res.setHeader("set-cookie", [
        "sid=abc123; Path=/; HttpOnly",
        "theme=dark; Path=/; Max-Age=86400",
        "scoped=inner; Path=/app",
        "blank=; Path=/",
      ]);
    } else if (req.url === "/more") {
      res.setHeader("set-cookie", ["extra=from-session; Path=/; Max-Age=600"]);
    }
    res.end("ok");
  });
  try {
    const curlJar = join(dir, "curl-jar.txt");
    await curl("-c", curlJar, `${server.origin}/login`);
    const written = await readFile(curlJar, "utf8");
    assert.match(
      written,
      /#HttpOnly_127\.0\.0\.1\tFALSE\t\/\tFALSE\t0\tsid\tabc123/,
    );

    // What curl itself sends from its jar is the reference.
    await curl("-b", curlJar, `${server.origin}/app/check`);
    const byCurl = cookiePairs(server.seen.at(-1)!.headers.cookie);
    assert.deepEqual(byCurl, [
      "blank=",
      "scoped=inner",
      "sid=abc123",
      "theme=dark",
    ]);

    await using s = new Session({ baseUrl: server.origin });
    const loaded = await s.cookies.load(curlJar);
    assert.equal(loaded.format, "netscape");
    assert.deepEqual(loaded.problems, []);
    assert.equal(loaded.loaded, 4);
    await s.get("/app/check");
    assert.deepEqual(cookiePairs(server.seen.at(-1)!.headers.cookie), byCurl);
    await s.get("/elsewhere");
    assert.deepEqual(
      cookiePairs(server.seen.at(-1)!.headers.cookie),
      ["blank=", "sid=abc123", "theme=dark"],
      "the /app cookie stays on /app",
    );

    // The session learns one more cookie and hands the jar back to curl.
    await s.get("/more");
    const ourJar = join(dir, "session-jar.txt");
    assert.equal(await s.cookies.save(ourJar, { format: "netscape" }), 5);
    const curlAgain = join(dir, "curl-again.txt");
    await curl("-b", ourJar, "-c", curlAgain, `${server.origin}/app/check`);
    assert.deepEqual(cookiePairs(server.seen.at(-1)!.headers.cookie), [
      "blank=",
      "extra=from-session",
      "scoped=inner",
      "sid=abc123",
      "theme=dark",
    ]);

    // curl kept every attribute it read from our file: HttpOnly, session
    // cookies, paths and expiry times come back unchanged.
    const view = (text: string) =>
      parseNetscape(text).cookies.map((c) =>
        [
          c.key,
          c.value,
          c.domain,
          c.path,
          c.httpOnly,
          c.hostOnly,
          c.secure,
          c.expiryTime(),
        ]
          .join("|")
      ).sort();
    assert.deepEqual(
      view(await readFile(curlAgain, "utf8")),
      view(await readFile(ourJar, "utf8")),
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
