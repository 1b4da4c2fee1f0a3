// Recording to HAR 1.2 and replaying it, with the stage called directly:
// against a loopback server, then with the server stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Har,
  type Hop,
  mockTransport,
  openHar,
  type Transport,
  UnmatchedRequestError,
} from "../mock.ts";
import { type Handler, serve } from "./_server.ts";
import { fetchTransport, hop } from "./_mock_hop.ts";
import { harErrors } from "./_har_schema.ts";

const PNG = new Uint8Array([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  0xff,
]);

const app: Handler = (req, res) => {
  if (req.url === "/login" && req.method === "POST") {
    res.writeHead(303, {
      location: "/me",
      "set-cookie": ["sid=s3cr3t-sid; Path=/; HttpOnly", "theme=dark; Path=/"],
    });
    return res.end();
  }
  if (req.url === "/me") {
    const ok = req.headers.cookie?.includes("sid=s3cr3t-sid") ?? false;
    res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
    return res.end(JSON.stringify({ user: ok ? "ann" : null }));
  }
  if (req.url === "/logo.png") {
    res.writeHead(200, { "content-type": "image/png" });
    return res.end(PNG);
  }
  res.writeHead(404);
  res.end("missing");
};

async function tempDir(): Promise<string> {
  return await mkdtemp(join(tmpdir(), "fetchkit-har-"));
}

/** Never called: a replay that reaches it has gone to the network. */
const noNetwork: Transport = (h: Hop) => {
  throw new Error(`sent to the network: ${h.method} ${h.url}`);
};

interface Seen {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** The flow: log in, read the profile with the cookies, fetch bytes. */
async function flow(send: Transport, origin: string): Promise<Seen[]> {
  const out: Seen[] = [];
  const keep = async (r: Response) => {
    out.push({
      status: r.status,
      headers: [...r.headers],
      body: new Uint8Array(await r.arrayBuffer()),
    });
    return r;
  };
  const login = await keep(
    await send(
      hop("POST", `${origin}/login`, {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "user=ann&password=hunter2",
      }),
    ),
  );
  const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0])
    .join("; ");
  await keep(await send(hop("GET", `${origin}/me`, { headers: { cookie } })));
  await keep(await send(hop("GET", `${origin}/logo.png`)));
  return out;
}

test("HAR: recorded against a server, replayed with it stopped: same statuses, headers, bodies", async () => {
  const dir = await tempDir();
  const path = join(dir, "flow.har");
  try {
    const server = await serve(app);
    let live: Seen[];
    try {
      const har = await openHar(path, { mode: "record", redactHeaders: [] });
      live = await flow(har.stage(fetchTransport), server.origin);
      await har.save();
    } finally {
      await server.close();
    }
    assert.deepEqual(live.map((s) => s.status), [303, 200, 200]);
    const replay = await openHar(path);
    const replayed = await flow(replay.stage(noNetwork), server.origin);
    assert.deepEqual(replayed, live);
    const har = JSON.parse(await readFile(path, "utf8")) as Har;
    assert.deepEqual(harErrors(har), []);
    assert.equal(har.log.version, "1.2");
    const [login, me, logo] = har.log.entries;
    assert.equal(login.request.postData?.text, "user=ann&password=hunter2");
    assert.deepEqual(login.response.cookies.map((c) => [c.name, c.path]), [
      ["sid", "/"],
      ["theme", "/"],
    ]);
    assert.equal(login.response.cookies[0].httpOnly, true);
    assert.equal(login.response.redirectURL, "/me");
    assert.deepEqual(me.request.cookies.map((c) => c.name), ["sid", "theme"]);
    assert.equal(logo.response.content.encoding, "base64");
    assert.equal(logo.response.content.size, PNG.length);
    assert.equal(me.response.content.text, '{"user":"ann"}');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: credentials are redacted by default (Authorization, Cookie, Set-Cookie, userinfo), and still replay", async () => {
  const dir = await tempDir();
  const path = join(dir, "redacted.har");
  try {
    const upstream = mockTransport((h) =>
      new Response("{}", {
        headers: [
          ["set-cookie", "sid=s3cr3t-sid; Path=/; HttpOnly"],
          ["set-cookie", "csrf=t0ken-value; Path=/"],
          ["content-type", "application/json"],
        ],
        status: h.url.includes("/a") ? 200 : 201,
      })
    );
    const har = await openHar(path, { mode: "record", redactQuery: ["key"] });
    const record = har.stage(upstream);
    await record(
      hop("GET", "https://ann:pa55word@api.test/a?key=k3y-value&page=1", {
        headers: {
          authorization: "Basic YW5uOnBhNTV3b3Jk",
          "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
          cookie: "sid=s3cr3t-sid; theme=dark",
          "x-trace": "kept",
        },
      }),
    );
    await har.save();
    const text = await readFile(path, "utf8");
    for (
      const secret of [
        "s3cr3t-sid",
        "t0ken-value",
        "YW5u",
        "cHJveHk",
        "pa55word",
        "k3y-value",
        "ann:",
      ]
    ) {
      assert.ok(!text.includes(secret), `${secret} is in the recording`);
    }
    const entry = (JSON.parse(text) as Har).log.entries[0];
    assert.deepEqual(harErrors(JSON.parse(text)), []);
    assert.equal(entry.request.url, "https://api.test/a?key=REDACTED&page=1");
    const header = (name: string) =>
      entry.request.headers.find((h) => h.name === name)?.value;
    assert.equal(header("authorization"), "Basic REDACTED");
    assert.equal(header("proxy-authorization"), "Basic REDACTED");
    assert.equal(header("cookie"), "sid=REDACTED; theme=REDACTED");
    assert.equal(header("x-trace"), "kept");
    assert.deepEqual(
      entry.response.headers.filter((h) => h.name === "set-cookie").map((h) =>
        h.value
      ),
      ["sid=REDACTED; Path=/; HttpOnly", "csrf=REDACTED; Path=/"],
    );
    // Replayed: a request with another key value is the same request, once
    // redacted as the recording was.
    const replay = (await openHar(path, { redactQuery: ["key"] })).stage(
      noNetwork,
    );
    const r = await replay(hop("GET", "https://api.test/a?key=other&page=1"));
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.getSetCookie(), [
      "sid=REDACTED; Path=/; HttpOnly",
      "csrf=REDACTED; Path=/",
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: strict replay fails on an unrecorded request; update records it and keeps the rest", async () => {
  const dir = await tempDir();
  const path = join(dir, "update.har");
  try {
    let sent = 0;
    const upstream = mockTransport((h) => {
      sent++;
      return new Response(`${h.method} ${new URL(h.url).pathname}`);
    });
    const first = await openHar(path, { mode: "record" });
    await first.stage(upstream)(hop("GET", "https://api.test/old"));
    await first.save();
    const strict = (await openHar(path)).stage(noNetwork);
    const error = await strict(hop("GET", "https://api.test/new")).catch((e) =>
      e
    );
    assert.ok(error instanceof UnmatchedRequestError);
    assert.match(
      error.message,
      /^No mock route matches GET https:\/\/api\.test\/new\n/,
    );
    assert.match(
      error.message,
      /GET https:\/\/api\.test\/old \(persist, called 0 times\)/,
    );
    assert.match(
      error.message,
      /It is not in .*update\.har: record it with mode "update"\./,
    );
    assert.equal(sent, 1);
    {
      await using update = await openHar(path, { mode: "update" });
      const send = update.stage(upstream);
      assert.equal(
        await (await send(hop("GET", "https://api.test/old"))).text(),
        "GET /old",
      );
      assert.equal(
        await (await send(hop("GET", "https://api.test/new"))).text(),
        "GET /new",
      );
      assert.equal(sent, 2, "only the missing request went upstream");
    }
    const saved = JSON.parse(await readFile(path, "utf8")) as Har;
    assert.deepEqual(saved.log.entries.map((e) => e.request.url), [
      "https://api.test/old",
      "https://api.test/new",
    ]);
    await assert.rejects(openHar(join(dir, "missing.har")), { code: "ENOENT" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: entries for the same request answer in turn, the last one again and again", async () => {
  const dir = await tempDir();
  const path = join(dir, "turns.har");
  try {
    let n = 0;
    const upstream = mockTransport(() =>
      new Response(String(++n), { status: n === 1 ? 503 : 200 })
    );
    const har = await openHar(path, { mode: "record" });
    const record = har.stage(upstream);
    for (let i = 0; i < 2; i++) {
      await record(hop("GET", "https://api.test/flaky"));
    }
    // A network failure is recorded too (status 0), and replays as one.
    const down = har.stage(() =>
      Promise.reject(new TypeError("connection refused"))
    );
    await assert.rejects(down(hop("GET", "https://api.test/down")), TypeError);
    await har.save();
    const replay = (await openHar(path)).stage(noNetwork);
    const got = [];
    for (let i = 0; i < 3; i++) {
      const r = await replay(hop("GET", "https://api.test/flaky"));
      got.push(`${r.status} ${await r.text()}`);
    }
    assert.deepEqual(got, ["503 1", "200 2", "200 2"]);
    await assert.rejects(
      replay(hop("GET", "https://api.test/down")),
      (e: unknown) =>
        e instanceof TypeError &&
        (e.cause as Error).message === "connection refused",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// Written by hand in the shape Chrome's devtools export ("Save all as
// HAR"): pages, HTTP/2 pseudo-headers, underscore fields, a form POST and
// its redirect, a brotli page stored decoded, a base64 image, a blocked
// request.
const CHROME_HAR = fileURLToPath(
  new URL("./fixtures/chrome.har", import.meta.url),
);

test("HAR: a HAR in Chrome's export shape is valid HAR 1.2 and replays", async () => {
  assert.deepEqual(
    harErrors(JSON.parse(await readFile(CHROME_HAR, "utf8"))),
    [],
  );
  const replay = (await openHar(CHROME_HAR)).stage(noNetwork);
  const login = await replay(
    hop("POST", "https://shop.example/login", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ user: "ann", password: "pw123" }),
    }),
  );
  assert.equal(login.status, 302);
  assert.equal(login.headers.get("location"), "/account?tab=orders");
  assert.deepEqual(login.headers.getSetCookie(), [
    "session=abc; Path=/; Secure; HttpOnly",
    "seen=1; Path=/",
  ]);
  const page = await replay(
    hop("GET", "https://shop.example/account?tab=orders"),
  );
  // Stored decoded: the encoding and the encoded length are not replayed.
  assert.equal(await page.text(), "<h1>Orders of ann</h1>");
  assert.equal(page.headers.get("content-encoding"), null);
  assert.equal(page.headers.get("content-length"), null);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const logo = await replay(hop("GET", "https://shop.example/logo.png"));
  assert.deepEqual(new Uint8Array(await logo.arrayBuffer()), PNG);
  await assert.rejects(
    replay(hop("GET", "https://tracker.example/pixel")),
    (e: unknown) =>
      e instanceof TypeError &&
      (e.cause as Error).message === "net::ERR_BLOCKED_BY_CLIENT",
  );
  // Another password is another request.
  await assert.rejects(
    replay(
      hop("POST", "https://shop.example/login", {
        body: "user=ann&password=x",
      }),
    ),
    UnmatchedRequestError,
  );
});

test("HAR options: matchHeaders, matchBody: false, redactHeaders: [] with redactUserinfo: false, update from no file", async () => {
  const dir = await tempDir();
  const path = join(dir, "new", "options.har");
  try {
    const upstream = mockTransport((h) =>
      new Response(
        `${h.headers.get("accept")} ${h.headers.get("authorization")}`,
      )
    );
    // Update mode on a file that does not exist yet: everything is recorded.
    {
      await using har = await openHar(path, {
        mode: "update",
        redactHeaders: [],
        redactUserinfo: false,
      });
      await har.stage(upstream)(
        hop("POST", "https://u:p@api.test/v", {
          headers: { accept: "text/csv", authorization: "Bearer t1" },
          body: "a=1",
        }),
      );
    }
    const entry =
      (JSON.parse(await readFile(path, "utf8")) as Har).log.entries[0];
    assert.equal(entry.request.url, "https://u:p@api.test/v");
    assert.ok(entry.request.headers.some((h) => h.value === "Bearer t1"));
    const strictAccept = (await openHar(path, {
      matchHeaders: ["Accept"],
      matchBody: false,
      redactUserinfo: false,
    })).stage(noNetwork);
    const r = await strictAccept(
      hop("POST", "https://u:p@api.test/v", {
        headers: { accept: "text/csv" },
        body: "another body",
      }),
    );
    assert.equal(await r.text(), "text/csv Bearer t1");
    await assert.rejects(
      strictAccept(
        hop("POST", "https://u:p@api.test/v", {
          headers: { accept: "application/json" },
        }),
      ),
      /header accept: wanted "text\/csv", got "application\/json"/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: a file that is not JSON, or has no log.entries, is refused with its path named", async () => {
  const dir = await tempDir();
  try {
    const { writeFile } = await import("node:fs/promises");
    const broken = join(dir, "broken.har");
    await writeFile(broken, '{"log": {"entries": [');
    await assert.rejects(
      openHar(broken),
      (e) =>
        e instanceof SyntaxError &&
        e.message.startsWith(`${broken} is not a HAR file`),
    );
    const empty = join(dir, "empty.har");
    await writeFile(empty, "{}");
    await assert.rejects(
      openHar(empty),
      /empty\.har is not a HAR file: it has no log\.entries/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: Set-Cookie fields a browser recorded as one, joined by line feeds (Firefox), replay one by one", async () => {
  const dir = await tempDir();
  try {
    const { writeFile } = await import("node:fs/promises");
    const path = join(dir, "firefox.har");
    const entry = {
      startedDateTime: "2026-12-06T10:00:00.000Z",
      time: 1,
      request: {
        method: "GET",
        url: "https://shop.example/",
        httpVersion: "HTTP/2",
        cookies: [],
        headers: [],
        queryString: [],
        headersSize: -1,
        bodySize: 0,
      },
      response: {
        status: 200,
        statusText: "OK",
        httpVersion: "HTTP/2",
        cookies: [],
        headers: [{
          name: "set-cookie",
          value: "session=abc; Path=/; HttpOnly\nseen=1; Path=/",
        }],
        content: { size: 2, mimeType: "text/plain", text: "ok" },
        redirectURL: "",
        headersSize: -1,
        bodySize: 2,
      },
      cache: {},
      timings: { send: 0, wait: 1, receive: 0 },
    };
    await writeFile(path, JSON.stringify({ log: { entries: [entry] } }));
    const replay = (await openHar(path)).stage(noNetwork);
    const r = await replay(hop("GET", "https://shop.example/"));
    assert.deepEqual(r.headers.getSetCookie(), [
      "session=abc; Path=/; HttpOnly",
      "seen=1; Path=/",
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: a recorded FormData request replays, though each serialisation picks a boundary of its own; another form does not", async () => {
  const dir = await tempDir();
  const path = join(dir, "form.har");
  const form = (name: string) => {
    const f = new FormData();
    f.set("name", name);
    return f;
  };
  try {
    const upstream = mockTransport(() => new Response("ok", { status: 201 }));
    const recorder = await openHar(path, { mode: "record" });
    const recorded = await recorder.stage(upstream)(
      hop("POST", "https://api.test/upload", { body: form("ann") }),
    );
    assert.equal(recorded.status, 201);
    await recorder.save();
    const replay = (await openHar(path)).stage(noNetwork);
    const again = await replay(
      hop("POST", "https://api.test/upload", { body: form("ann") }),
    );
    assert.equal(again.status, 201);
    await assert.rejects(
      replay(hop("POST", "https://api.test/upload", { body: form("bob") })),
      UnmatchedRequestError,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("HAR: a recording stage hands on the response with its URL", async () => {
  const dir = await tempDir();
  const server = await serve(app);
  try {
    const har = await openHar(join(dir, "url.har"), { mode: "record" });
    const r = await har.stage(fetchTransport)(
      hop("GET", `${server.origin}/me`),
    );
    assert.equal(r.url, `${server.origin}/me`);
    await r.body?.cancel();
    await har.save();
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
