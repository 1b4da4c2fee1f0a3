// Recording a session's traffic to HAR against a loopback server, then
// replaying it through a session with the server stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Session, TimeoutError } from "../mod.ts";
import { type Har, type HarOptions, openHar } from "../mock.ts";
import { type Handler, serve } from "./_server.ts";
import { harErrors } from "./_har_schema.ts";
import { endlessBody } from "./_mock_hop.ts";
import { within } from "./_wait.ts";

const app: Handler = (req, res) => {
  if (req.url === "/login" && req.method === "POST") {
    res.writeHead(303, {
      location: "/me",
      "set-cookie": [
        "sid=live-sid-42; Path=/; HttpOnly",
        "theme=dark; Path=/; Max-Age=3600",
      ],
    });
    return res.end();
  }
  if (req.url === "/me") {
    const ok = req.headers.cookie?.includes("sid=") ?? false;
    res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
    return res.end(JSON.stringify({ user: ok ? "ann" : null, body: req.body }));
  }
  if (req.url === "/logout") {
    res.writeHead(204, { "set-cookie": "theme=; Path=/; Max-Age=0" });
    return res.end();
  }
  res.writeHead(404);
  res.end();
};

interface Seen {
  status: number;
  url: string;
  history: number[];
  headers: [string, string][];
  body: string;
  jar: Record<string, string>;
}

/** Logs in (303 to /me), reads /me, logs out; what each step saw. */
async function flow(s: Session, origin: string): Promise<Seen[]> {
  const out: Seen[] = [];
  const keep = async (r: Response & { history: Response[] }) =>
    out.push({
      status: r.status,
      url: r.url,
      history: r.history.map((h) => h.status),
      headers: [...r.headers],
      body: await r.text(),
      jar: s.cookies.toObject(),
    });
  await keep(await s.post(`${origin}/login`, { form: { user: "ann" } }));
  await keep(await s.get(`${origin}/me`));
  await keep(await s.post(`${origin}/logout`));
  return out;
}

async function roundTrip(options: HarOptions) {
  const dir = await mkdtemp(join(tmpdir(), "fetchkit-har-"));
  const path = join(dir, "session.har");
  try {
    const server = await serve(app);
    const origin = server.origin;
    let live: Seen[];
    try {
      await using har = await openHar(path, { ...options, mode: "record" });
      await using s = new Session({ stages: [har.stage] });
      live = await flow(s, origin);
    } finally {
      await server.close();
    }
    await using replay = await openHar(path, options);
    await using s = new Session({ stages: [replay.stage] });
    const replayed = await flow(s, origin);
    // Nothing reached the pool during the replay.
    assert.deepEqual(s.pool.stats(), {});
    const har = JSON.parse(await readFile(path, "utf8")) as Har;
    return { live, replayed, har, text: JSON.stringify(har) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("HAR through a session, unredacted: replayed with the server stopped, the same statuses, headers, bodies, jar", async () => {
  const { live, replayed, har } = await roundTrip({ redactHeaders: [] });
  assert.deepEqual(live.map((s) => s.status), [200, 200, 204]);
  assert.deepEqual(live[0].history, [303]);
  assert.deepEqual(live[0].jar, { sid: "live-sid-42", theme: "dark" });
  assert.deepEqual(live[2].jar, { sid: "live-sid-42" });
  assert.deepEqual(replayed, live);
  assert.deepEqual(harErrors(har), []);
  // Every hop is an entry: the redirect's too.
  assert.deepEqual(
    har.log.entries.map((e) =>
      `${e.request.method} ${
        new URL(e.request.url).pathname
      } ${e.response.status}`
    ),
    ["POST /login 303", "GET /me 200", "GET /me 200", "POST /logout 204"],
  );
});

test("HAR through a session, redacted by default: the cookies' names and attributes replay, their values are not stored", async () => {
  const { live, replayed, har, text } = await roundTrip({});
  assert.deepEqual(harErrors(har), []);
  assert.ok(
    !text.includes("live-sid-42"),
    "the session id is in the recording",
  );
  assert.deepEqual(replayed.map((s) => s.status), live.map((s) => s.status));
  assert.deepEqual(replayed.map((s) => s.body), live.map((s) => s.body));
  assert.deepEqual(
    replayed.map((s) => Object.keys(s.jar)),
    live.map((s) => Object.keys(s.jar)),
  );
  assert.deepEqual(replayed[1].jar, { sid: "REDACTED", theme: "REDACTED" });
});

test("a HAR in Chrome's export shape replays through a session: the form POST, its redirect, the cookies", async () => {
  const path = fileURLToPath(new URL("./fixtures/chrome.har", import.meta.url));
  await using har = await openHar(path);
  await using s = new Session({ stages: [har.stage] });
  const r = await s.post("https://shop.example/login", {
    form: { user: "ann", password: "pw123" },
  });
  assert.equal(r.status, 200);
  assert.equal(r.url, "https://shop.example/account?tab=orders");
  assert.deepEqual(r.history.map((h) => h.status), [302]);
  assert.equal(await r.text(), "<h1>Orders of ann</h1>");
  assert.deepEqual(s.cookies.toObject(), { session: "abc", seen: "1" });
  assert.deepEqual(s.pool.stats(), {});
});

test("recording: a body the caller cancels is cancelled at its source, and the entry says it was not read", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fetchkit-har-"));
  try {
    const path = join(dir, "cancel.har");
    const har = await openHar(path, { mode: "record" });
    const { body, cancelled } = endlessBody();
    const transport = () => Promise.resolve(new Response(body));
    await using s = new Session({ transport, stages: [har.stage] });
    const r = await s.get("https://api.test/events");
    await within(r.body!.cancel(), 5_000, "the caller's cancel");
    await within(cancelled, 5_000, "the cancel at the source");
    await within(har.save(), 5_000, "save()");
    assert.match(har.entries[0].comment ?? "", /^body not read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("recording and replaying: a streamed upload runs into the session's timeout and is cancelled", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fetchkit-har-"));
  try {
    const path = join(dir, "upload.har");
    for (const mode of ["record", "replay"] as const) {
      const har = await openHar(path, { mode });
      const transport = () => Promise.resolve(new Response("ok"));
      await using s = new Session({
        transport,
        stages: [har.stage],
        timeout: 50,
      });
      const { body, cancelled } = endlessBody();
      await within(
        assert.rejects(s.post("https://api.test/up", { body }), TimeoutError),
        5_000,
        `the call (${mode})`,
      );
      await within(cancelled, 5_000, `the upload's cancel (${mode})`);
      await har.save();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
