// The example of docs/testing.md, as it is written there (imports aside).
import { test } from "node:test";
import assert from "node:assert/strict";
import { raiseForStatus, Session, type Transport } from "../mod.ts";
import { readFile } from "node:fs/promises";
import { MockRouter, UnmatchedRequestError } from "../mock.ts";

class TodoClient {
  readonly session: Session;

  constructor(baseUrl: string, transport?: Transport) {
    this.session = new Session({
      baseUrl,
      transport,
      timeout: 5_000,
      retry: { limit: 2, backoff: 0 },
    });
  }

  async login(user: string, password: string): Promise<void> {
    raiseForStatus(
      await this.session.post("/login", { json: { user, password } }),
    );
  }

  async todos(): Promise<string[]> {
    const r = raiseForStatus(await this.session.get("/todos"));
    return (await r.json()) as string[];
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

test("login keeps the session cookie, and a 503 is retried", async () => {
  const mock = new MockRouter({ origin: "https://todo.example" });
  mock.post("/login", { json: { user: "ann" } }).reply(204, {
    headers: { "set-cookie": "sid=abc; Path=/; HttpOnly" },
  });
  const busy = mock.get("/todos").reply(503);
  const todos = mock.get("/todos", { headers: { cookie: "sid=abc" } })
    .reply(200, { json: ["write tests"] });

  const client = new TodoClient("https://todo.example", mock.transport);
  try {
    await client.login("ann", "secret");
    assert.deepEqual(await client.todos(), ["write tests"]);
  } finally {
    await client.close();
  }
  assert.equal(busy.calls.length, 1);
  assert.equal(todos.calls[0].headers.get("cookie"), "sid=abc");
  assert.deepEqual(mock.calls[0].json(), { user: "ann", password: "secret" });
  mock.assertDone(); // every route called as expected, no stray request
});

test("the unmatched-request error of docs/testing.md, as a session reports it", async () => {
  const mock = new MockRouter({ origin: "https://api.example.com" });
  mock.post("/login", { json: { user: "ann" } }).reply(303, {
    headers: { location: "/me" },
  });
  mock.get("/users", { query: { page: "2" } }).reply(200, { json: [] });
  mock.get("/users/:id").reply(200); // a string path is exact: no parameters
  await using s = new Session({ transport: mock.transport });
  const error = await s.get("https://api.example.com/users?page=3&token=abc")
    .then(() => assert.fail("answered"), (e: unknown) => e);
  assert.ok(error instanceof UnmatchedRequestError);
  // The text docs/testing.md shows, character for character.
  const docs = await readFile(
    new URL("../docs/testing.md", import.meta.url),
    "utf8",
  );
  const shown = /as it prints:\n\n```text\n([^]*?)\n```/.exec(docs)?.[1];
  assert.equal(String(error), shown);
  assert.equal(mock.calls.length, 1, "not retried, not sent elsewhere");
});
