import { test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "./_server.ts";
import { type Progress, Session } from "../mod.ts";

const SIZE = 300_001;

function body(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

/** Checks a run of events: from 0, growing, ending at `size`. */
function checkEvents(
  events: Progress[],
  size: number,
  total: number | undefined,
) {
  assert.ok(events.length >= 3, `${events.length} events`);
  assert.equal(events[0].transferredBytes, 0);
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].transferredBytes >= events[i - 1].transferredBytes);
  }
  const last = events.at(-1)!;
  assert.equal(last.transferredBytes, size);
  assert.equal(last.percent, 1);
  for (const e of events) assert.equal(e.totalBytes, total);
  // The steps add up to the body: nothing counted twice or missed.
  let sum = 0;
  for (let i = 1; i < events.length; i++) {
    sum += events[i].transferredBytes - events[i - 1].transferredBytes;
  }
  assert.equal(sum, size);
}

test("progress: download events sum to the body size, with Content-Length", async () => {
  const data = body(SIZE);
  const server = await serve((_req, res) => {
    res.setHeader("content-length", String(SIZE));
    // In pieces, so that the client sees several chunks.
    let at = 0;
    const next = () => {
      if (at >= SIZE) return void res.end();
      res.write(data.subarray(at, at + 50_000), next);
      at += 50_000;
    };
    next();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const events: Progress[] = [];
    const r = await s.get("/file", {
      onDownloadProgress: (p) => void events.push(p),
    });
    assert.equal(r.status, 200);
    assert.equal(r.url, `${server.origin}/file`);
    const got = new Uint8Array(await r.arrayBuffer());
    assert.deepEqual(got, data);
    checkEvents(events, SIZE, SIZE);
    for (const e of events.slice(0, -1)) {
      assert.ok(e.percent! >= 0 && e.percent! <= 1);
    }
  } finally {
    await server.close();
  }
});

test("progress: a chunked download has no total; a session callback applies to every request", async () => {
  const data = body(SIZE);
  const server = await serve((_req, res) => {
    res.write(data.subarray(0, 100_000));
    res.end(data.subarray(100_000));
  });
  try {
    const events: Progress[] = [];
    await using s = new Session({
      baseUrl: server.origin,
      onDownloadProgress: (p) => void events.push(p),
    });
    const r = await s.get("/chunked");
    assert.equal((await r.arrayBuffer()).byteLength, SIZE);
    checkEvents(events, SIZE, undefined);
    assert.equal(events[1].percent, undefined);
    events.length = 0;
    await (await s.get("/chunked", { onDownloadProgress: null })).arrayBuffer();
    assert.equal(events.length, 0);
  } finally {
    await server.close();
  }
});

test("progress: upload events sum to the body size; the server gets every byte", async () => {
  const server = await serve((_req, res) => {
    res.end("stored");
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const text = "0123456789".repeat(20_000);
    const events: Progress[] = [];
    const r = await s.post("/up", {
      body: text,
      headers: { "content-type": "text/plain" },
      onUploadProgress: (p) => void events.push(p),
    });
    assert.equal(await r.text(), "stored");
    assert.equal(server.seen[0].body, text);
    assert.equal(server.seen[0].headers["content-type"], "text/plain");
    checkEvents(events, text.length, text.length);
  } finally {
    await server.close();
  }
});

test("progress: a stream upload is counted as it is read", async () => {
  const server = await serve((_req, res) => {
    res.end();
  });
  try {
    await using s = new Session({ baseUrl: server.origin });
    const chunk = new Uint8Array(10_000).fill(7);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ === 5) c.close();
        else c.enqueue(chunk);
      },
    });
    const events: Progress[] = [];
    await s.post("/stream", {
      body: stream,
      onUploadProgress: (p) => void events.push(p),
    });
    assert.equal(server.seen[0].body.length, 50_000);
    checkEvents(events, 50_000, undefined);
  } finally {
    await server.close();
  }
});

test("progress: a throwing callback fails the download and frees the connection", async () => {
  const data = body(SIZE);
  const server = await serve((_req, res) => {
    res.end(data);
  });
  try {
    await using s = new Session({
      baseUrl: server.origin,
      pool: { maxConnectionsPerOrigin: 1 },
    });
    const stop = new Error("stop");
    const r = await s.get("/file", {
      onDownloadProgress: (p) => {
        if (p.transferredBytes > 0) throw stop;
      },
    });
    await assert.rejects(r.arrayBuffer(), (e) => e === stop);
    assert.equal(s.pool.stats()[server.origin].inFlight, 0);
    assert.equal((await (await s.get("/file")).arrayBuffer()).byteLength, SIZE);
  } finally {
    await server.close();
  }
});
