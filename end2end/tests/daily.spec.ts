import { test, expect } from "@playwright/test";
import { addUser, ingest, marker, open, signIn } from "./helpers";

const tag = marker("d");
const env = `daily-${tag}`;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
/** What a file that never changes at its URL is served with. */
const FOR_GOOD = "public, max-age=31536000, immutable";

test.beforeAll(async ({ request }) => {
  await ingest(request, [1, 2, 3].map((m) => ({
    id: `k${m}-${tag}`, type: "app.view", occurred_at: minutesAgo(m), environment: env,
    actor: { id: `kai-${tag}`, name: "Kai" }, target: { type: "app", id: `app${m}`, name: `App ${m}` },
  })));
});

test("the events table is driven from the keyboard", async ({ page }) => {
  await open(page, `/events?env=${env}`);
  const rows = page.locator("tbody.event > tr[data-event-id]");
  await expect(rows).toHaveCount(3);

  await page.keyboard.press("j");
  await expect(rows.nth(0)).toHaveClass(/selected/);
  await page.keyboard.press("j");
  await expect(rows.nth(1)).toHaveClass(/selected/);
  await expect(rows.nth(0)).not.toHaveClass(/selected/);
  await page.keyboard.press("k");
  await expect(rows.nth(0)).toHaveClass(/selected/);
  await expect(rows.nth(0).locator("button.expander")).toBeFocused();

  await page.keyboard.press("o");
  const expansion = page.locator("tr.expansion");
  await expect(expansion).toBeVisible();
  await expect(expansion).toContainText(`k1-${tag}`);
  await page.keyboard.press("Escape");
  await expect(expansion).toHaveCount(0);
  await page.keyboard.press("Enter");
  await expect(expansion).toBeVisible();

  await page.keyboard.press("/");
  await expect(page.locator("input[name=q]")).toBeFocused();
  await page.keyboard.type("j");
  await expect(page.locator("input[name=q]")).toHaveValue("j");
  await expect(rows.nth(0)).toHaveClass(/selected/);
});

test("the sessions table fits a 1440 px window without a horizontal scrollbar", async ({ page, request }) => {
  const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  const who = (n: number) => ({ id: `wide-${n}-${tag}`, name: `Maximiliane Wolkenstein-Rodenegg ${n}`,
    email: `maximiliane.wolkenstein-rodenegg.${n}@a-very-long-organisation-name.example`, role: "administrator",
    session_id: `wide-${n}-${tag}` });
  await ingest(request, [
    { type: "session.sign_in", occurred_at: minutesAgo(30), environment: env, organization: { id: `o-${tag}`, name: "Wolkenstein Holding International" },
      actor: who(1), client: { ip: "81.2.69.160", user_agent: chrome } },
    { type: "session.sign_in", occurred_at: minutesAgo(3), environment: env, organization: { id: `o-${tag}`, name: "Wolkenstein Holding International" },
      actor: who(2), client: { ip: "2a00:1450:4001:82b::200e", user_agent: chrome } },
    { type: "session.sign_in", occurred_at: minutesAgo(2), environment: env, organization: { id: `o-${tag}` },
      actor: { ...who(1), session_id: `wide-3-${tag}` }, client: { ip: "126.0.1.1", user_agent: chrome } },
  ]);
  await page.setViewportSize({ width: 1440, height: 900 });
  await open(page, `/sessions?env=${env}&status=all`);
  await expect(page.locator("tbody tr")).toHaveCount(3);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test("times are shown in the time zone a user chooses, with UTC on hover", async ({ browser }) => {
  const email = `zone-${tag}@e2e.example`;
  addUser(email, ["--role", "auditor"]);
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] }, timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  await page.goto("/preferences");
  await signIn(page, email);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  // By default, the browser's zone.
  // The example reads as one sentence: the time on the reader's clock, not "just now" above it.
  const sample = page.locator("section.panel time.clock");
  await expect(sample).toHaveText("2026-07-01 14:00:00 CEST");
  await expect(page.locator("p.hint").filter({ hasText: "For example" })).toHaveText("For example, 1 July 2026 12:00 UTC is shown as 2026-07-01 14:00:00 CEST.");
  await page.locator("select[name=zone]").selectOption("Asia/Tokyo");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(sample).toHaveText("2026-07-01 21:00:00 GMT+9");

  await open(page, `/events?env=${env}`);
  await expect(page.locator(".time-zone")).toHaveText("Times in Asia/Tokyo · UTC on hover");
  const first = page.locator("tbody.event td.time time").first();
  await expect(first.locator(".absolute")).toContainText("GMT+9");
  await expect(first).toHaveAttribute("title", /UTC$/);

  // A target's history says which zone its times are in (it said UTC).
  await open(page, `/targets/app/app1`);
  await expect(page.locator(".page-head .time-zone")).toHaveText("Times in Asia/Tokyo · UTC on hover");
  await expect(page.locator(".history-entry time .absolute").first()).toContainText("GMT+9");

  // The activity chart's bars are labelled on the same clock: 00:00 UTC is 09:00 in Tokyo.
  await open(page, `/events?env=${env}&from=2026-07-01T00:00:00Z&to=2026-07-01T06:00:00Z`);
  const labels = page.locator("#activity-chart[data-ready] svg text");
  await expect(labels.filter({ hasText: /^09:00$/ })).toHaveCount(1);
  await expect(labels.filter({ hasText: /^00:00$/ })).toHaveCount(0);
  await context.close();
});

test("the bundle has content-hashed names, is cached for good and sent compressed", async ({ page }) => {
  const wasm = page.waitForResponse((r) => /\/pkg\/vigil\.[^/]+\.wasm$/.test(new URL(r.url()).pathname));
  await open(page, "/events");
  const response = await wasm;
  expect(response.headers()["cache-control"]).toBe(FOR_GOOD);
  const html = await page.request.get("/events", { headers: { "accept-encoding": "br, gzip" } });
  expect(html.headers()["content-encoding"]).toMatch(/br|gzip/);
});

/** A session signed in from London a minute ago, so the sessions page draws a map. */
const signedInFromLondon = (session: string) => ({
  type: "session.sign_in", occurred_at: minutesAgo(1), environment: `${env}-map`,
  actor: { id: `lee-${tag}`, name: "Lee", session_id: `${session}-${tag}` }, client: { ip: "81.2.69.160" },
});

test("ECharts comes versioned and cached for good, its line and map parts only where they are drawn", async ({ page, playwright, baseURL, request }) => {
  await ingest(request, [signedInFromLondon("charts")]);
  const isFile = (name: string) => (r: { url(): string }) => new URL(r.url()).pathname === name;
  const charts = page.waitForResponse(isFile("/echarts.min.js"));
  const requested: string[] = [];
  page.on("request", (r) => requested.push(new URL(r.url()).pathname));
  await open(page, "/events");
  const core = await charts;
  expect(new URL(core.url()).searchParams.get("v")).toMatch(/^[0-9a-f]{16}$/);
  expect(core.headers()["cache-control"]).toBe(FOR_GOOD);
  await expect(page.locator("#activity-chart[data-ready]")).toBeAttached();
  expect(requested).not.toContain("/echarts-full.min.js");

  // Moving to the sessions page in the same document loads the map's parts, then draws the map.
  const mapParts = page.waitForResponse(isFile("/echarts-full.min.js"));
  const outline = page.waitForResponse(isFile("/world.json"));
  await page.getByRole("link", { name: "Sessions", exact: true }).click();
  expect((await mapParts).headers()["cache-control"]).toBe(FOR_GOOD);
  expect((await outline).headers()["cache-control"]).toBe(FOR_GOOD);
  await expect(page.locator("#sessions-map[data-ready]")).toBeAttached();
  await expect(page.locator("#sessions-map svg")).toBeAttached();

  // A page opened there directly starts with the map build; the sign-in page loads no ECharts at all.
  const direct = await page.request.get("/sessions");
  expect(await direct.text()).toMatch(/<script src="\/echarts-full\.min\.js\?v=[0-9a-f]{16}"/);
  const compare = await page.request.get("/compare");
  expect(await compare.text()).toMatch(/<script src="\/echarts-full\.min\.js\?v=[0-9a-f]{16}"/);
  const guest = await playwright.request.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
  const signInPage = await guest.get("/login");
  expect(signInPage.status()).toBe(200);
  expect(await signInPage.text()).not.toContain("echarts");
  await guest.dispose();
});

test("a line chart reached from the explorer loads its ECharts build on the way", async ({ page }) => {
  const isFile = (name: string) => (r: { url(): string }) => new URL(r.url()).pathname === name;
  await open(page, "/events");
  const lines = page.waitForResponse(isFile("/echarts-full.min.js"));
  await page.getByRole("link", { name: "Compare", exact: true }).click();
  expect((await lines).headers()["cache-control"]).toBe(FOR_GOOD);
  await expect(page.locator("#compare-chart[data-ready]")).toBeAttached();
  await expect(page.locator("#compare-chart svg")).toBeAttached();
});

test("a map or a line chart whose ECharts build cannot be loaded says so", async ({ page, request }) => {
  await ingest(request, [signedInFromLondon("offline")]);
  await page.route(/\/echarts-full\.min\.js/, (route) => route.abort());
  await open(page, "/events");
  await page.getByRole("link", { name: "Sessions", exact: true }).click();
  await expect(page.locator("#sessions-map")).toHaveAttribute("data-error", "true");
  await expect(page.locator("#sessions-map")).toHaveText("The map could not be loaded; reload the page to try again.");
  await page.getByRole("link", { name: "Compare", exact: true }).click();
  await expect(page.locator("#compare-chart")).toHaveAttribute("data-error", "true");
  await expect(page.locator("#compare-chart")).toHaveText("The chart could not be loaded; reload the page to try again.");
});

test("a chart still loading says so rather than showing an empty box", async ({ page, request }) => {
  await ingest(request, [signedInFromLondon("loading")]);
  await open(page, "/events");
  const chart = page.locator("#activity-chart");
  await expect(chart).toHaveAttribute("data-ready", "true");
  const before = (element: Element) => getComputedStyle(element, "::before").content;
  expect(await chart.evaluate(before)).toBe("none");
  // The same container before ECharts has drawn into it, as the page is served.
  const waiting = await chart.evaluate((element) => {
    const empty = element.cloneNode(false) as Element;
    empty.id = "not-drawn-yet";
    element.parentElement!.appendChild(empty);
    return getComputedStyle(empty, "::before").content;
  });
  expect(waiting).toBe('"Drawing the chart…"');
});
