/**
 * The demo app (/app/) end to end in headless Chromium, driven with playwright-core.
 *
 * alice and nina (unit North) and carol (South) sign in, each in a browser context of their own.
 * alice approves a pending request: nina's row turns `approved` within a second without a reload,
 * while carol's page never shows a North row and her socket never carries a North event. The
 * server is then stopped, requests are filed while it is down, and it is started again on the same
 * port: every page reconnects by itself and shows them (North pages by resuming the stream from its
 * last event id). Signing out closes each socket, seen by the browser and by the server's metrics.
 *
 * tests/browser/test_demo_app.py runs it against a real Daphne; the server restart is the runner's
 * part. The script prints `@@step <name>` and waits for one JSON line on stdin: `{}` or the
 * step's result when the runner is done, `{"error": "..."}` when it failed.
 *
 * Environment: SYNCLINE_E2E_URL (the server, e.g. http://127.0.0.1:8000), CHROMIUM_PATH
 * (default /usr/bin/chromium). Exit code 0 when every check held, 1 otherwise.
 */
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const BASE = process.env.SYNCLINE_E2E_URL;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PASSWORD = "demo-pass-123";
// Chromium must never reach the network on its own (updates, sync, QUIC probes).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LIVE_UPDATE_MS = 1_000;
const SIGN_IN_MS = 30_000;
// Reconnect delays are random with an upper bound doubling per failed attempt (1, 2, 4, 8 s...),
// so a page may wait several seconds after the server is back.
const RECONNECT_MS = 45_000;
const OVERALL_MS = 110_000;

/** Thrown by `check`: a failed expectation of the scenario. */
class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function ok(message) {
  console.log(`ok - ${message}`);
}

// -- the runner (tests/browser/test_demo_app.py) --------------------------------------------
const runnerLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Asks the runner to do `name` (stop or start the server, change data) and returns its answer. */
async function step(name) {
  console.log(`@@step ${name}`);
  const { value, done } = await runnerLines.next();
  if (done) throw new Error(`no runner answered step ${name}: run this script through tests/browser/test_demo_app.py`);
  const answer = JSON.parse(value);
  if (answer.error) throw new Error(`step ${name} failed in the runner: ${answer.error}`);
  return answer;
}

// -- one signed-in user: a browser context, its page, and what arrived on its sockets ---------
class User {
  constructor(name, context, page) {
    Object.assign(this, { name, context, page });
    /** Every JSON message received on any socket of the page, in order: {socket, message}. */
    this.frames = [];
    /** The page's WebSockets, in the order they opened: {closed}. */
    this.sockets = [];
    this.pageErrors = [];
    this.listeners = new Set();
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  /** Resolves once `predicate()` holds, re-checked on every frame and socket close. */
  until(predicate, what, timeout = 10_000) {
    return new Promise((resolve, reject) => {
      const listener = () => {
        const value = predicate();
        if (value === undefined || value === false || value === null) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new CheckFailed(`${this.name}: ${what} (not within ${timeout} ms)`));
      }, timeout);
      this.listeners.add(listener);
      listener();
    });
  }

  /** The index of the first frame at or after `from` that matches, or undefined. */
  frameIndex(match, from = 0) {
    for (let i = from; i < this.frames.length; i++) if (match(this.frames[i].message)) return i;
    return undefined;
  }

  messages() {
    return this.frames.map((frame) => frame.message);
  }

  async status() {
    return this.page.getAttribute("#ws-status", "data-status");
  }

  async waitForStatus(status, timeout = 10_000) {
    await this.page
      .waitForSelector(`#ws-status[data-status="${status}"]`, { timeout })
      .catch(async () => {
        throw new CheckFailed(`${this.name}: #ws-status stayed ${await this.status()}, expected ${status}`);
      });
  }

  /** The text of a request's status cell, or null when the page has no such row. */
  async requestStatus(id) {
    const cell = this.page.locator(`[data-testid="request-${id}-status"]`);
    return (await cell.count()) === 0 ? null : cell.textContent();
  }

  /**
   * Resolves once the server has finished subscribing this page's socket to `stream`: the server
   * handles a socket's messages in order, so a pong after `subscribed` means the subscription is
   * live (events published from now on reach the page).
   */
  async subscriptionLive(stream) {
    const subscribed = await this.until(
      () => this.frameIndex((m) => m.type === "subscribed" && m.stream === stream),
      `subscribed to ${stream}`,
    );
    await this.page.evaluate(() => window.__e2eSockets.at(-1).send(JSON.stringify({ type: "ping" })));
    await this.until(() => this.frameIndex((m) => m.type === "pong", subscribed + 1) !== undefined, "pong");
  }
}

async function signIn(browser, name) {
  const context = await browser.newContext();
  // Keep a handle on the page's sockets, so the test can ping through the app's own connection.
  await context.addInitScript(() => {
    const NativeWebSocket = window.WebSocket;
    window.__e2eSockets = [];
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        window.__e2eSockets.push(this);
      }
    };
  });
  const page = await context.newPage();
  const user = new User(name, context, page);
  page.on("pageerror", (error) => user.pageErrors.push(error.message));
  page.on("websocket", (ws) => {
    const socket = { closed: false };
    const index = user.sockets.push(socket) - 1;
    ws.on("framereceived", ({ payload }) => {
      user.frames.push({ socket: index, message: JSON.parse(String(payload)) });
      user.changed();
    });
    ws.on("close", () => {
      socket.closed = true;
      user.changed();
    });
  });

  const response = await page.goto(`${BASE}/app/`);
  check(response.status() === 200, `GET /app/ answered ${response.status()}`);
  check(await user.status() === "closed", `${name}: the socket is closed before signing in`);
  await page.fill("#username", name);
  await page.fill("#password", PASSWORD);
  await page.click("#login");
  // Signing in loads the page's data and a ticket before the socket opens: slow on a busy machine.
  await user.waitForStatus("open", SIGN_IN_MS);
  check((await page.textContent("#me")) === name, `${name}: #me shows ${await page.textContent("#me")}`);
  ok(`${name} signed in; #ws-status is open`);
  return user;
}

/** The id in `requests.unit.<id>` the page subscribed to: the user's unit. */
async function requestStream(user) {
  const index = await user.until(
    () => user.frameIndex((m) => m.type === "subscribed" && /^requests\.unit\.\d+$/.test(m.stream)),
    "subscribed to its unit's requests",
  );
  return user.frames[index].message.stream;
}

async function openConnections() {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const sample = /^syncline_connections_open\{route="multiplexed"\} (\S+)$/m.exec(text);
  return sample === null ? 0 : Number(sample[1]);
}

/** Polls /metrics (the server's own count: nothing pushes it) until it shows `expected` sockets. */
async function serverSeesConnections(expected, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  let seen = await openConnections();
  while (seen !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await openConnections();
  }
  check(seen === expected, `the server counts ${seen} open sockets, expected ${expected}`);
}

async function scenario(browser) {
  const alice = await signIn(browser, "alice");
  const nina = await signIn(browser, "nina");
  const carol = await signIn(browser, "carol");
  const users = [alice, nina, carol];

  const northStream = await requestStream(alice);
  check((await requestStream(nina)) === northStream, "nina follows North's requests like alice");
  const southStream = await requestStream(carol);
  check(southStream !== northStream, "carol follows another unit's requests");
  const northUnit = northStream.split(".").at(-1);
  const isNorth = (m) => typeof m.stream === "string" && m.stream.endsWith(`.unit.${northUnit}`);
  await Promise.all(users.map((user) => user.subscriptionLive(user === carol ? southStream : northStream)));
  await serverSeesConnections(3);
  ok(`every page's subscription is live (${northStream}, ${southStream}); the server counts 3 sockets`);

  // Everything carol's page ever shows as a request row, from now on.
  await carol.page.waitForSelector('tr[data-testid^="request-"]');
  await carol.page.evaluate(() => {
    window.__e2eRowsShown = new Set();
    const record = () => {
      for (const row of document.querySelectorAll('tr[data-testid^="request-"]')) {
        window.__e2eRowsShown.add(row.dataset.testid);
      }
    };
    record();
    new MutationObserver(record).observe(document.body, { childList: true, subtree: true });
  });

  // -- alice approves; nina sees it live --------------------------------------------------------
  const approve = alice.page.locator('button[data-testid^="approve-"]').first();
  await approve.waitFor();
  const requestId = (await approve.getAttribute("data-testid")).replace("approve-", "");
  await nina.page.waitForSelector(`[data-testid="request-${requestId}-status"]`);
  check((await nina.requestStatus(requestId)) === "pending", `nina sees request ${requestId} pending first`);
  await nina.page.evaluate(() => {
    window.__e2eSamePage = true;
  });
  const ninaSeesIt = nina.page.waitForFunction(
    (id) => document.querySelector(`[data-testid="request-${id}-status"]`)?.textContent === "approved",
    requestId,
    { timeout: LIVE_UPDATE_MS },
  );
  const clicked = Date.now();
  await approve.click();
  await ninaSeesIt.catch(async () => {
    throw new CheckFailed(
      `nina's row of request ${requestId} shows ${await nina.requestStatus(requestId)} ${LIVE_UPDATE_MS} ms after the click`,
    );
  });
  const elapsed = Date.now() - clicked;
  check(await nina.page.evaluate(() => window.__e2eSamePage === true), "nina's page was not reloaded");
  const approvedEvent = nina.frameIndex(
    (m) => m.type === "request.updated" && m.action === "approved" && String(m.request_id) === requestId,
  );
  check(approvedEvent !== undefined, "the approval reached nina's socket as a request.updated event");
  await alice.page.waitForFunction(
    (id) => document.querySelector(`[data-testid="request-${id}-status"]`)?.textContent === "approved",
    requestId,
    { timeout: LIVE_UPDATE_MS },
  );
  check(!(await alice.page.locator(`[data-testid="approve-${requestId}"]`).count()), "alice's Approve button is gone");
  ok(`alice approved request ${requestId}; nina's row showed approved ${elapsed} ms after the click, without a reload`);

  // -- the server goes away, requests are filed meanwhile, it comes back ------------------------
  await step("stop-server");
  await Promise.all(users.map((user) => user.waitForStatus("reconnecting")));
  for (const user of users) {
    const phase = await user.page.getAttribute("#ws-status", "data-phase");
    check(phase === "reconnecting", `${user.name}: the indicator shows ${phase} while the server is down`);
  }
  ok("the server stopped: every page shows #ws-status reconnecting");
  const filed = await step("change-while-down");
  const northRequest = String(filed.north_request);
  const southRequest = String(filed.south_request);
  check((await nina.requestStatus(northRequest)) === null, "nothing shows the new North request while the server is down");
  const framesBefore = new Map(users.map((user) => [user, user.frames.length]));
  await step("start-server");
  // The indicator says "Resumed" for a few seconds once the socket is back, then "Live".
  await Promise.all(
    users.map((user) =>
      user.page.waitForSelector('#ws-status[data-status="open"][data-phase="resumed"]', { timeout: RECONNECT_MS }).catch(
        async () => {
          const phase = await user.page.getAttribute("#ws-status", "data-phase");
          throw new CheckFailed(`${user.name}: #ws-status never showed resumed (status ${await user.status()}, phase ${phase})`);
        },
      ),
    ),
  );
  ok("the server is back on the same port: every page shows #ws-status open again, and Resumed");

  for (const user of [alice, nina]) {
    const from = framesBefore.get(user);
    const resumed = await user.until(
      () => user.frameIndex((m) => m.type === "stream.resumed" && m.stream === northStream, from),
      `resumed ${northStream} after the restart`,
    );
    const replayed = user.frames[resumed].message.replayed;
    check(replayed >= 1, `${user.name}: the resume replayed ${replayed} events, expected the one filed while down`);
    const created = user.frameIndex(
      (m) => m.type === "request.updated" && m.action === "created" && String(m.request_id) === northRequest,
      from,
    );
    check(created !== undefined && created < resumed, `${user.name}: the resume replayed the creation of ${northRequest}`);
    await user.page
      .waitForSelector(`[data-testid="request-${northRequest}"]`, { timeout: 5_000 })
      .catch(() => Promise.reject(new CheckFailed(`${user.name}: request ${northRequest} filed while down is not shown`)));
    check((await user.requestStatus(northRequest)) === "pending", `${user.name}: request ${northRequest} is pending`);
  }
  ok(`alice and nina resumed ${northStream} (missed events replayed) and show request ${northRequest}`);
  await carol.page
    .waitForSelector(`[data-testid="request-${southRequest}"]`, { timeout: 5_000 })
    .catch(() => Promise.reject(new CheckFailed(`carol: request ${southRequest} filed while down is not shown`)));
  ok(`carol reconnected and shows request ${southRequest}, filed in South while the server was down`);

  // -- carol saw nothing of North -----------------------------------------------------------------
  const northFrames = carol.messages().filter(isNorth);
  check(northFrames.length === 0, `carol received North messages: ${JSON.stringify(northFrames)}`);
  const rowsShown = await carol.page.evaluate(() => [...window.__e2eRowsShown]);
  for (const id of [requestId, northRequest]) {
    check(!rowsShown.includes(`request-${id}`), `carol's page showed North's request ${id}`);
  }
  check(rowsShown.includes(`request-${southRequest}`), "carol's row record works (it saw her own new request)");
  check(
    carol.messages().some((m) => m.type === "subscribed" && m.stream === southStream),
    "carol's socket frames were recorded",
  );
  ok(`carol's page never showed a North row and her socket carried no North message (${carol.frames.length} frames)`);

  // -- sign out: each socket closes and stays closed -----------------------------------------------
  await serverSeesConnections(3);
  let open = 3;
  for (const user of users) {
    const socket = user.sockets.at(-1);
    await user.page.click("#logout");
    await user.waitForStatus("closed");
    await user.until(() => socket.closed, "its socket closed after logout");
    open -= 1;
    await serverSeesConnections(open);
    await user.page.waitForSelector("#login");
    ok(`${user.name} signed out: #ws-status closed, the socket closed, the server counts ${open} open`);
  }
  const socketsAtLogout = users.map((user) => user.sockets.length);
  // Nothing announces a reconnect that does not happen: give the first backoff step (at most 1 s) time.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  check(
    users.every((user, i) => user.sockets.length === socketsAtLogout[i]),
    "a signed-out page opened a new socket",
  );
  await serverSeesConnections(0, 0);
  ok("no page reconnected after signing out");

  for (const user of users) {
    check(user.pageErrors.length === 0, `${user.name}: uncaught page errors: ${user.pageErrors.join("; ")}`);
  }
  ok("no uncaught errors on any page");
}

async function main() {
  if (!BASE) {
    console.error("set SYNCLINE_E2E_URL to the server's URL, e.g. http://127.0.0.1:8000");
    return 2;
  }
  const overall = setTimeout(() => {
    console.error(`not ok - the scenario took longer than ${OVERALL_MS} ms`);
    process.exit(1);
  }, OVERALL_MS);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    await scenario(browser);
    console.log("all checks passed");
    return 0;
  } catch (error) {
    console.error(`not ok - ${error instanceof CheckFailed ? error.message : (error.stack ?? error)}`);
    return 1;
  } finally {
    clearTimeout(overall);
    await browser.close();
  }
}

process.exit(await main());
