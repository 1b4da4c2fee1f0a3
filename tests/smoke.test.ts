import { test } from "node:test";
import assert from "node:assert/strict";
import { echo, serve } from "./_server.ts";
import { Session } from "../mod.ts";

test("smoke: session reuses one connection and closes it", async () => {
  const server = await serve(echo);
  try {
    {
      await using s = new Session({
        baseUrl: server.origin,
        headers: { "x-a": "1" },
      });
      for (let i = 0; i < 5; i++) {
        const r = await s.get("/x", { params: { i } });
        const j = await r.json();
        assert.equal(j.headers["x-a"], "1");
      }
      assert.equal(server.connections, 1);
      assert.equal(server.open, 1);
    }
    await server.allClosed();
    assert.equal(server.open, 0);
  } finally {
    await server.close();
  }
});
