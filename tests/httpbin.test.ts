// Digest auth against Debian's python3-httpbin (installed by
// tools/services.sh, which `npm test` runs first), served by gunicorn on a
// loopback port of its own choosing. Missing, it fails rather than skips:
// this is the one check of digest against a server we did not write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { digestAuth, Session } from "../mod.ts";

async function startHttpbin() {
  const child = spawn(
    "/usr/bin/python3",
    ["-m", "gunicorn", "-b", "127.0.0.1:0", "-w", "1", "httpbin:app"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const origin = await new Promise<string>((resolve, reject) => {
    let log = "";
    child.on("error", reject);
    child.on(
      "exit",
      (code) => reject(new Error(`gunicorn exited (${code}): ${log}`)),
    );
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      log += chunk;
      const m = log.match(/Listening at: (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
  });
  return {
    origin,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        // SIGINT is gunicorn's quick shutdown; SIGTERM waits for workers.
        child.kill("SIGINT");
      }),
  };
}

test("httpbin: digest auth MD5, SHA-256 and SHA-512 (qop=auth) succeed, a wrong password does not", async () => {
  const httpbin = await startHttpbin();
  try {
    await using s = new Session({ baseUrl: httpbin.origin });
    for (const algorithm of ["MD5", "SHA-256", "SHA-512"]) {
      const r = await s.get(
        `/digest-auth/auth/user/passwd/${algorithm}`,
        { auth: digestAuth("user", "passwd") },
      );
      assert.equal(r.status, 200, algorithm);
      assert.deepEqual(await r.json(), { authenticated: true, user: "user" });
    }
    const wrong = await s.get("/digest-auth/auth/user/passwd/SHA-256", {
      auth: digestAuth("user", "wrong"),
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const none = await s.get("/digest-auth/auth/user/passwd/MD5");
    assert.equal(none.status, 401);
    await none.body?.cancel();
  } finally {
    await httpbin.stop();
  }
});
