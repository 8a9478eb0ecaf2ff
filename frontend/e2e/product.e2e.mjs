/**
 * The demo app (/app/) as a product, in headless Chromium with playwright-core: what each role
 * is offered, notifications from before sign-in, the unit's audit trail, who is online, the staff
 * dashboard and the /jobs/ page; a screenshot of each page goes to docs/screenshots/.
 *
 * - alice (approver), bob (requester) and sam (store head) of North see exactly the actions their
 *   role allows on each request (the rules of apps/requests/services.py); crates name their storage.
 * - bob's two notifications, sent before he signed in, are listed with the unread count; marking
 *   one read is recorded on the server.
 * - alice approves a request: nina's (unit admin) row is highlighted and her audit trail shows the
 *   entry live.
 * - alice and bob see each other online in North; closing bob's browser context shows him leave.
 * - admin (staff) sees the dashboard's KPIs as figures, not a dump.
 *
 * tests/browser/test_demo_product.py runs it against a real Daphne; it seeds the notifications and
 * answers `@@step <name>` lines (one JSON answer per line on stdin), as demo.e2e.mjs's runner does.
 *
 * Environment: SYNCLINE_E2E_URL (the server), CHROMIUM_PATH (default /usr/bin/chromium),
 * SCREENSHOTS (the folder for the PNGs; none are taken without it). Exit code 0 when every check held.
 */
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const BASE = process.env.SYNCLINE_E2E_URL;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.SCREENSHOTS;
const PASSWORD = "demo-pass-123";
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
// A clean close is announced within 10 s (a grace of about 5 s hides reloads).
const LEAVE_MS = 15_000;
const OVERALL_MS = 110_000;
const VIEWPORT = { width: 1280, height: 820 };

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function ok(message) {
  console.log(`ok - ${message}`);
}

const runnerLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Asks the runner to do `name` and returns its answer. */
async function step(name) {
  console.log(`@@step ${name}`);
  const { value, done } = await runnerLines.next();
  if (done) throw new Error(`no runner answered step ${name}: run this script through tests/browser/test_demo_product.py`);
  const answer = JSON.parse(value);
  if (answer.error) throw new Error(`step ${name} failed in the runner: ${answer.error}`);
  return answer;
}

async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  // Let highlights fade and fonts settle, so the picture shows the page at rest.
  await page.waitForTimeout(2_200);
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  ok(`screenshot ${name}.png`);
}

/** Waits for `predicate(arg)` in the page; fails with `what` and the value of `detail()` if it never holds. */
async function until(page, predicate, arg, what, timeout = 10_000) {
  await page.waitForFunction(predicate, arg, { timeout }).catch(async () => {
    throw new CheckFailed(`${what} (not within ${timeout} ms)`);
  });
}

async function signIn(browser, name) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${BASE}/app/`);
  await page.fill("#username", name);
  await page.fill("#password", PASSWORD);
  await page.click("#login");
  await page.waitForSelector('#ws-status[data-status="open"]');
  check((await page.textContent("#me")) === name, `${name}: #me shows ${await page.textContent("#me")}`);
  return { name, context, page, errors };
}

/** `{id: actions}` for every request row the page shows, once the table has rows. */
async function offeredActions(user) {
  await user.page.waitForSelector('tr[data-testid^="request-"]');
  return user.page.$$eval('tr[data-testid^="request-"]', (rows) =>
    Object.fromEntries(
      rows
        .filter((row) => /^request-\d+$/.test(row.dataset.testid))
        .map((row) => [row.dataset.testid.slice("request-".length), row.dataset.actions.split(" ").filter(Boolean)]),
    ),
  );
}

async function statuses(user) {
  return user.page.$$eval('[data-testid$="-status"][data-testid^="request-"]', (cells) =>
    Object.fromEntries(cells.map((cell) => [cell.dataset.testid.split("-")[1], cell.textContent])),
  );
}

/** What the workflow allows (apps/requests/services.py), for a requester named bob. */
function expected(role, status, requester) {
  const decide = role === "approver" || role === "admin";
  const keep = role === "store_head" || role === "admin";
  const actions = [];
  if (status === "pending" && decide) actions.push("approve", "reject", "send_back");
  if (status === "approved" && keep) actions.push("allocate_storage", "issue");
  if (status === "issued" && keep) actions.push("return");
  if ((status === "pending" || status === "sent_back") && (role === "admin" || requester)) actions.push("edit");
  return actions;
}

async function scenario(browser) {
  const loginContext = await browser.newContext({ viewport: VIEWPORT });
  const loginPage = await loginContext.newPage();
  await loginPage.goto(`${BASE}/app/`);
  await loginPage.waitForSelector("#login");
  await screenshot(loginPage, "sign-in");
  await loginContext.close();

  const alice = await signIn(browser, "alice");
  const bob = await signIn(browser, "bob");
  const sam = await signIn(browser, "sam");
  const nina = await signIn(browser, "nina");
  const users = [alice, bob, sam, nina];

  // -- each role sees exactly its actions ------------------------------------------------------
  const status = await statuses(alice);
  check(Object.keys(status).length >= 4, `alice sees ${Object.keys(status).length} requests`);
  const roles = { alice: "approver", bob: "requester", sam: "store_head", nina: "admin" };
  for (const user of users) {
    const offered = await offeredActions(user);
    for (const [id, actions] of Object.entries(offered)) {
      const want = expected(roles[user.name], status[id], user.name === "bob");
      check(
        JSON.stringify(actions) === JSON.stringify(want),
        `${user.name} is offered [${actions}] on request ${id} (${status[id]}), expected [${want}]`,
      );
    }
  }
  const pending = Object.keys(status).find((id) => status[id] === "pending");
  check(pending !== undefined, "a pending request to decide on");
  check((await bob.page.locator('[data-testid^="approve-"]').count()) === 0, "bob sees no Approve button");
  check((await alice.page.locator(`[data-testid="approve-${pending}"]`).count()) === 1, "alice can approve");
  check((await alice.page.locator(`[data-testid="edit-${pending}"]`).count()) === 0, "alice cannot edit bob's request");
  check((await bob.page.locator(`[data-testid="edit-${pending}"]`).count()) === 1, "bob can edit his own request");
  ok(`alice, bob, sam and nina are each offered exactly the actions of their role (${Object.keys(status).length} requests)`);

  const storageCells = await alice.page.$$eval('[data-testid$="-storage"]', (cells) => cells.map((cell) => cell.textContent));
  check(storageCells.length > 0 && storageCells.every((name) => name === "—" || !/^#?\d+$/.test(name)), `crates show storage ${storageCells}`);
  ok(`crates name their storage location (${[...new Set(storageCells)].join(", ")})`);

  // -- notifications from before sign-in ------------------------------------------------------
  const seeded = await step("seeded-notifications");
  await until(
    bob.page,
    (ids) => ids.every((id) => document.querySelector(`[data-testid="notification-${id}"]`)),
    seeded.ids,
    "bob's notifications from before he signed in are listed",
  );
  check((await bob.page.textContent('[data-testid="notifications-unread"]')) === "2", "bob has 2 unread");
  ok(`bob's ${seeded.ids.length} stored notifications are listed, 2 unread`);
  await bob.page.click(`[data-testid="notification-${seeded.ids[0]}"] button`);
  await until(bob.page, () => document.querySelector('[data-testid="notifications-unread"]')?.textContent === "1", null, "bob: 1 unread after marking one read");
  const read = await step("read-notifications");
  check(read.read.includes(seeded.ids[0]), `the server recorded the read: ${JSON.stringify(read)}`);
  ok("marking a notification read is shown and recorded on the server");

  // -- who is online ---------------------------------------------------------------------------
  for (const user of [alice, bob]) {
    await until(
      user.page,
      (names) => names.every((name) => document.querySelector('[data-testid="online"]')?.dataset.members.split(" ").includes(name)),
      ["alice", "bob", "sam", "nina"],
      `${user.name} sees alice, bob, sam and nina online`,
    );
  }
  ok("alice and bob see the unit's four users online");

  await alice.page.click(`[data-testid="open-${pending}"]`);
  await alice.page.waitForSelector('[data-testid="request-panel"]');
  await screenshot(alice.page, "approver");

  // -- who is viewing a request, its comments and "typing..." ------------------------------------
  await bob.page.click(`[data-testid="open-${pending}"]`);
  await bob.page.waitForSelector('[data-testid="request-panel"]');
  await until(
    alice.page,
    () => document.querySelector('[data-testid="viewers"]')?.dataset.members.split(" ").includes("bob"),
    null,
    "alice sees bob viewing the request",
  );
  const words = `Box 12 is in the basement (${Date.now()})`;
  await bob.page.fill('[data-testid="comment-body"]', words);
  await until(
    alice.page,
    () => document.querySelector('[data-testid="typing"]')?.textContent.includes("bob is typing"),
    null,
    "alice sees bob typing",
  );
  await bob.page.click('[data-testid="comment-send"]');
  await until(
    alice.page,
    (text) =>
      [...document.querySelectorAll('[data-testid="comments"] li')].some((li) => li.textContent.includes(text)) &&
      !document.querySelector('[data-testid="typing"]')?.textContent.includes("bob is typing"),
    words,
    "alice sees bob's comment arrive and his typing stop",
  );
  ok("bob views the request alice is viewing: she sees him there, sees him typing, then his comment");

  // -- a change shows up live, highlighted, and in the audit trail ------------------------------
  const auditBefore = await nina.page.locator('[data-testid^="audit-"]').count();
  await alice.page.click(`[data-testid="approve-${pending}"]`);
  await until(
    nina.page,
    (id) => document.querySelector(`[data-testid="request-${id}"]`)?.classList.contains("flash"),
    pending,
    `nina's row of request ${pending} is highlighted`,
  );
  await until(
    nina.page,
    (id) => document.querySelector(`[data-testid="request-${id}-status"]`)?.textContent === "approved",
    pending,
    `nina's row of request ${pending} shows approved`,
  );
  await until(
    nina.page,
    ([before, id]) => {
      const entries = [...document.querySelectorAll('[data-testid^="audit-"]')];
      return entries.length > before && entries[0].textContent.includes(`request #${id}`) && entries[0].textContent.includes("alice");
    },
    [auditBefore, pending],
    "nina's audit trail shows alice's approval first",
  );
  const samOffered = await offeredActions(sam);
  check(
    JSON.stringify(samOffered[pending]) === JSON.stringify(["allocate_storage", "issue"]),
    `sam is now offered ${samOffered[pending]} on the approved request`,
  );
  ok(`alice approved request ${pending}: nina's row flashed and her audit trail added the entry; sam may now issue it`);

  await sam.page.click(`[data-testid="allocate-storage-${pending}"]`);
  const choice = await sam.page.$$eval(`[data-testid="allocate-storage-${pending}-value"] option`, (options) =>
    options.filter((option) => option.value).map((option) => [option.value, option.textContent]),
  );
  check(choice.length > 0, "sam chooses among the unit's storage locations by name");
  await sam.page.selectOption(`[data-testid="allocate-storage-${pending}-value"]`, choice[0][0]);
  await sam.page.click(`[data-testid="allocate-storage-${pending}-value-submit"]`);
  await until(
    alice.page,
    ([id, name]) => document.querySelector(`[data-testid="request-${id}"]`)?.textContent.includes(name),
    [pending, choice[0][1]],
    `alice sees request ${pending} stored in ${choice[0][1]}`,
  );
  ok(`sam allocated ${choice[0][1]} to request ${pending}; alice sees it by name`);

  await screenshot(nina.page, "unit-admin");
  await screenshot(bob.page, "requester");

  // -- closing a browser shows the leave ---------------------------------------------------------
  await bob.context.close();
  await until(
    alice.page,
    () => !document.querySelector('[data-testid="online"]')?.dataset.members.split(" ").includes("bob"),
    null,
    "alice sees bob leave after his browser closed",
    LEAVE_MS,
  );
  ok("bob closed his browser: alice sees him leave");

  // -- the staff dashboard -----------------------------------------------------------------------
  const admin = await signIn(browser, "admin");
  await admin.page.waitForSelector('[data-testid="dashboard-requests"] tbody tr');
  const kpis = await admin.page.$$eval(".kpi", (cards) =>
    cards.map((card) => [card.dataset.testid, card.querySelector(".value").textContent]),
  );
  check(kpis.length >= 4, `the dashboard shows ${kpis.length} KPI cards`);
  check(/^\d+$/.test(Object.fromEntries(kpis)["dashboard-pending"]), `pending requests KPI: ${JSON.stringify(kpis)}`);
  check(!(await admin.page.textContent(".dashboard")).includes("{"), "the dashboard is no JSON dump");
  const units = await admin.page.$$eval('[data-testid="dashboard-requests"] tbody tr td:first-child', (cells) =>
    cells.map((cell) => cell.textContent),
  );
  check(units.includes("North") && units.includes("South"), `requests by unit: ${units}`);
  ok(`admin sees the dashboard as KPI cards (${kpis.map(([id, value]) => `${id}=${value}`).join(", ")}) and a table per unit`);
  await screenshot(admin.page, "staff-dashboard");

  // -- the /jobs/ page (Django's session login) ---------------------------------------------------
  const jobsContext = await browser.newContext({ viewport: VIEWPORT });
  const jobs = await jobsContext.newPage();
  await jobs.goto(`${BASE}/jobs/`);
  await jobs.fill("#id_username", "alice");
  await jobs.fill("#id_password", PASSWORD);
  await Promise.all([jobs.waitForNavigation(), jobs.click('main form [type="submit"]')]);
  check(new URL(jobs.url()).pathname === "/jobs/", `signed in to ${jobs.url()}`);
  await jobs.selectOption("#task-type", "email_sending");
  await jobs.fill("#total-items", "60");
  await jobs.click("#start-job");
  await jobs.waitForSelector('#job-progress[data-status="completed"]', { timeout: 30_000 });
  await jobs.waitForSelector('#recent-jobs tr[data-status="completed"]');
  ok("alice ran a job on /jobs/; its bar and its row in the recent jobs reached completed");
  await screenshot(jobs, "jobs");
  await jobsContext.close();

  for (const user of [alice, sam, nina, admin]) {
    check(user.errors.length === 0, `${user.name}: uncaught page errors: ${user.errors.join("; ")}`);
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
