// Soak: 10,000 requests through one session to a server that randomly
// resets, stalls or closes. Afterwards the session still works, no cookie set
// by a response the session returned was lost, and no socket is left open.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../_server.ts";
import { Session } from "../../mod.ts";

const TOTAL = 10_000;
const WORKERS = 32;
/** Per request: generous next to a loopback answer, short next to a stall. */
const TIMEOUT = 250;

/** A small seeded generator, so that a failing run can be replayed. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test("Soak: 10,000 requests against random resets, stalls and closes leave the session working, cookies kept, 0 sockets open", async () => {
  const roll = random(0x5eed);
  const faults = { reset: 0, midBody: 0, stall: 0, close: 0, ok: 0 };
  const server = await serve((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const worker = url.searchParams.get("w");
    const n = url.searchParams.get("n");
    const dice = roll();
    if (dice < 0.04) {
      faults.reset++;
      req.socket.destroy();
      return;
    }
    if (dice < 0.055) {
      faults.stall++;
      return; // never answers; the client's timeout ends it
    }
    res.setHeader("set-cookie", `w${worker}=${n}; Path=/`);
    if (dice < 0.08) {
      faults.midBody++;
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial", () => req.socket.destroy());
      return;
    }
    if (dice < 0.12) {
      faults.close++;
      res.setHeader("connection", "close");
    }
    faults.ok++;
    res.end(`ok ${n}`);
  });
  const started = Date.now();
  try {
    const expected = new Map<string, string>();
    const outcomes = { ok: 0, failed: 0 };
    {
      await using s = new Session({ baseUrl: server.origin, timeout: TIMEOUT });
      let next = 0;
      const worker = async (w: number) => {
        for (;;) {
          const n = next++;
          if (n >= TOTAL) return;
          try {
            const r = await s.get("/soak", { params: { w, n } });
            // The headers arrived, so the jar has stored this cookie: it is
            // the newest this worker will have seen so far.
            expected.set(`w${w}`, String(n));
            try {
              await r.text();
              outcomes.ok++;
            } catch {
              outcomes.failed++;
            }
          } catch {
            outcomes.failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      // Every success was answered by the server, and counted there.
      assert.ok(server.seen.length >= outcomes.ok, JSON.stringify(outcomes));
      assert.ok(outcomes.ok > TOTAL * 0.8, JSON.stringify(outcomes));
      assert.ok(faults.reset > 0 && faults.stall > 0, JSON.stringify(faults));
      assert.ok(faults.midBody > 0 && faults.close > 0, JSON.stringify(faults));

      for (const [name, value] of expected) {
        assert.equal(s.cookies.get(name), value, name);
      }
      assert.equal(s.cookies.size, expected.size);

      // Still working, with every cookie sent back.
      const stats = s.pool.stats()[server.origin];
      assert.equal(stats.inFlight, 0);
      const seenBefore = server.seen.length;
      // The server's dice may fault this one too: a few tries (each faults
      // about one time in eight) make a run that never lands vanishingly rare.
      let landed = false;
      for (let n = 0; n < 6 && !landed; n++) {
        try {
          const r = await s.get("/soak", { params: { w: "final", n } });
          await r.text();
          landed = r.ok;
        } catch {
          // Faulted: try again.
        }
      }
      assert.ok(landed, "a request after the soak succeeded");
      const last = server.seen.at(-1)!;
      assert.ok(server.seen.length > seenBefore);
      const sent = new Map(
        String(last.headers.cookie).split("; ").map((pair) => {
          const eq = pair.indexOf("=");
          return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
        }),
      );
      for (const [name, value] of expected) {
        assert.equal(sent.get(name), value, name);
      }
    }
    // The session is closed: the server must see every socket go.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      server.allClosed(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${server.open} sockets still open`)),
          10_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(server.open, 0);
    console.log(
      `soak: ${TOTAL} requests in ${Date.now() - started} ms, ` +
        `${server.connections} connections, outcomes ${
          JSON.stringify(outcomes)
        }, server ${JSON.stringify(faults)}`,
    );
  } finally {
    await server.close();
  }
});
