import { test, expect, Page } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

// A known data set, unique to this run: two environments, two organizations,
// two apps, three users, several types and outcomes, and one role's history.
const tag = marker("x");
const prod = `prod-${tag}`;
const stage = `stage-${tag}`;
const role = `role-${tag}`;
const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

test.beforeAll(async ({ request }) => {
  await ingest(request, [
    { id: `${tag}-1`, occurred_at: minutesAgo(5), environment: prod, organization: { id: `acme-${tag}`, name: `Acme ${tag}` },
      app: { id: `insight-${tag}`, name: "Insight" }, type: "app.view",
      actor: { id: `ana-${tag}`, name: `Ana ${tag}`, email: `ana-${tag}@acme.example`, session_id: `ses-${tag}` },
      target: { type: "app", id: `insight-${tag}`, name: "Insight" }, client: { ip: "81.2.69.160", user_agent: "Mozilla/5.0" } },
    { id: `${tag}-2`, occurred_at: minutesAgo(20), environment: prod, organization: { id: `acme-${tag}`, name: `Acme ${tag}` },
      app: { id: `insight-${tag}`, name: "Insight" }, type: "role.permission_add",
      actor: { id: `ana-${tag}`, name: `Ana ${tag}`, session_id: `ses-${tag}` },
      target: { type: "role", id: role, name: "Support" },
      changes: [{ field: "permissions", old: ["View Billing"], new: ["View Billing", "Export Data"] }],
      request: { id: `req-${tag}`, method: "PATCH", path: `/api/roles/${role}`, status: 200 },
      client: { ip: "81.2.69.160", user_agent: firefox },
      reason: "has permission Manage Users on Insight app" },
    { id: `${tag}-3`, occurred_at: minutesAgo(200), environment: stage, organization: { id: `globex-${tag}`, name: `Globex ${tag}` },
      app: { id: `billing-${tag}`, name: "Billing" }, type: "role.update", outcome: "denied",
      actor: { id: `ben-${tag}`, name: `Ben ${tag}` }, target: { type: "role", id: role, name: "Support" },
      reason: `role viewer lacks permission ${tag}` },
    { id: `${tag}-4`, occurred_at: minutesAgo(60 * 30), environment: prod, organization: { id: `acme-${tag}` },
      type: "role.update", actor: { id: `carla-${tag}`, name: `Carla ${tag}` },
      target: { type: "role", id: role, name: "Support" },
      changes: [{ field: "description", old: "Default", new: "Support staff" }] },
  ]);
});

const rows = (page: Page) => page.locator("tbody.event > tr:first-child");

async function pick(page: Page, name: string, value: string) {
  await page.locator(`select[name="${name}"]`).selectOption(value);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

test("filtering by environment, organization, app, category and outcome narrows the table and the URL", async ({ page }) => {
  await open(page, "/events?range=7d");

  await pick(page, "env", prod);
  await expect(page).toHaveURL(new RegExp(`env=${prod}`));
  await expect(rows(page)).toHaveCount(3);

  await pick(page, "org", `acme-${tag}`);
  await expect(page).toHaveURL(/org=acme-/);
  await pick(page, "app", `insight-${tag}`);
  await expect(rows(page)).toHaveCount(2);

  await pick(page, "category", "change");
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText("role.permission_add");

  await pick(page, "outcome", "success");
  await expect(rows(page)).toHaveCount(1);

  // The back button walks back through the filter changes.
  await page.goBack();
  await expect(page).not.toHaveURL(/outcome=/);
  await page.goBack();
  await expect(page).not.toHaveURL(/category=/);
  await expect(rows(page)).toHaveCount(2);
});

test("a second choice made while the first is still loading keeps both", async ({ page }) => {
  await open(page, "/events?range=7d");
  // Hold the explorer's data back, so the second choice is made on the page drawn before the first.
  const slow = "**/api/explore_events*";
  await page.route(slow, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await page.locator('select[name="env"]').selectOption(prod);
  await page.locator('select[name="category"]').selectOption("change");
  await expect(page).toHaveURL(/category=change/);
  expect(page.url()).toContain(`env=${prod}`);
  await page.unroute(slow);
  await expect(rows(page)).toHaveCount(2);
  await expect(page.locator('select[name="env"]')).toHaveValue(prod);
});

test("several event types, a user and free text filter together", async ({ page }) => {
  await open(page, `/events?range=7d&q=${tag}`);
  await expect(rows(page)).toHaveCount(4);

  await pick(page, "type", "role.update");
  await expect(rows(page)).toHaveCount(2);
  await pick(page, "type", "app.view");
  await expect(page).toHaveURL(/type=role.update&type=app.view/);
  await expect(rows(page)).toHaveCount(3);

  await page.getByRole("combobox", { name: "User" }).fill(`ben-${tag}`);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`user=ben-${tag}`));
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText(`Ben ${tag}`);

  await page.getByRole("combobox", { name: "User" }).fill("");
  await page.getByRole("searchbox", { name: "Search" }).fill(`lacks permission ${tag}`);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText("denied");

  // Clear one filter with its chip, then all of them.
  await page.getByRole("link", { name: "Remove filter type: app.view" }).click();
  await expect(page).not.toHaveURL(/type=app.view/);
  await page.getByRole("link", { name: "Clear all" }).click();
  await expect(page).toHaveURL(/\/events$/);
});

test("free text matches whole words, and the start of one with a star", async ({ page }) => {
  const start = tag.slice(0, -1);
  await open(page, `/events?range=7d&q=${start}`);
  await expect(page.getByRole("heading", { name: "No events match" })).toBeVisible();

  await page.getByRole("searchbox", { name: "Search" }).fill(`ROLE-${start}*`);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=ROLE-/);
  await expect(rows(page)).toHaveCount(3);
  await expect(page.locator("#activity-chart")).toHaveAttribute("aria-label", /chart: 3 events/);
});

test("time range presets and a custom range", async ({ page }) => {
  await open(page, `/events?q=${tag}`);
  await expect(rows(page)).toHaveCount(3); // the 30-hour-old event is outside the last 24 hours

  await pick(page, "range", "1h");
  await expect(page).toHaveURL(/range=1h/);
  await expect(rows(page)).toHaveCount(2);

  await pick(page, "range", "7d");
  await expect(rows(page)).toHaveCount(4);

  const from = new Date(Date.now() - 40 * 3600_000).toISOString().slice(0, 16);
  const to = new Date(Date.now() - 20 * 3600_000).toISOString().slice(0, 16);
  await page.getByLabel("From (UTC)").fill(from);
  await page.getByLabel("To (UTC)").fill(to);
  await page.getByRole("button", { name: "Apply range" }).click();
  await expect(page).toHaveURL(/from=.*&to=/);
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText(`Carla ${tag}`);
});

test("clicking a chart bar narrows the time range to it", async ({ page }) => {
  await open(page, `/events?env=${prod}&range=24h`);
  const chart = page.locator("#activity-chart");
  await expect(chart).toHaveAttribute("data-ready", "true");
  await expect(page.locator(".summary")).toHaveAttribute("data-total", "2");

  // The bars are SVG paths with a fill, below the legend; ECharts draws them on the next frame.
  const bars = chart.locator("svg path");
  const visibleBars = () =>
    bars.evaluateAll((paths) =>
      paths
        .map((p, i) => ({ i, fill: p.getAttribute("fill"), box: (p as SVGGraphicsElement).getBBox() }))
        .filter((b) => b.fill && b.fill !== "none" && b.fill !== "transparent" && b.box.y > 30 && b.box.height > 1)
        .map((b) => b.i),
    );
  await expect.poll(async () => (await visibleBars()).length).toBeGreaterThan(0);
  const indexes = await visibleBars();
  await bars.nth(indexes[indexes.length - 1]).click({ force: true });

  await expect(page).toHaveURL(/from=.*&to=/);
  await expect(page.locator(".chip", { hasText: "time:" })).toBeVisible();
  const total = Number(await page.locator(".summary").getAttribute("data-total"));
  expect(total).toBeGreaterThan(0);
  await expect(rows(page)).toHaveCount(total);
});

test("clicking a value in the table adds it as a filter", async ({ page }) => {
  await open(page, `/events?range=7d&q=${tag}`);
  await rows(page).filter({ hasText: `Ben ${tag}` }).getByRole("link", { name: `Ben ${tag}` }).click();
  await expect(page).toHaveURL(new RegExp(`user=ben-${tag}`));
  await expect(rows(page)).toHaveCount(1);
});

test("rows expand in place, several at once, by keyboard too", async ({ page }) => {
  await open(page, `/events?range=7d&q=${tag}`);
  const second = page.locator("tbody.event", { hasText: "role.permission_add" });
  await second.getByRole("button", { name: "Show the full event" }).click();
  const expansion = second.locator("tr.expansion");
  await expect(expansion).toContainText("permissions");
  await expect(expansion.locator("td.old")).toContainText('["View Billing"]');
  await expect(expansion.locator("td.new")).toContainText('"Export Data"');
  await expect(expansion).toContainText("PATCH");
  await expect(expansion).toContainText(firefox);
  await expect(expansion).toContainText(/Firefox 121[.\d]* on Windows 10/);
  await expansion.getByText("Raw JSON").click();
  await expect(expansion.locator("pre.json")).toContainText(`"id": "${tag}-2"`);

  const denied = page.locator("tbody.event", { hasText: "denied" });
  await denied.getByRole("button", { name: "Show the full event" }).focus();
  await page.keyboard.press("Enter");
  await expect(denied.locator("tr.expansion")).toContainText(`lacks permission ${tag}`);
  await expect(second.locator("tr.expansion")).toBeVisible();
  await expect(second.getByRole("button", { name: "Show the full event" })).toHaveAttribute("aria-expanded", "true");

  // The expander's cell is a table cell like the others: as tall as its row, its border in line.
  const [cell, row] = [await second.locator("td.toggle").boundingBox(), await second.locator("tr").first().boundingBox()];
  expect(Math.abs(cell!.height - row!.height)).toBeLessThan(2);

  // A click on a row's plain text toggles it too (the expander's own click, above, toggles once).
  await second.locator("tr").first().locator("td").nth(7).click();
  await expect(second.locator("tr.expansion")).toHaveCount(0);
  await expect(second.getByRole("button", { name: "Show the full event" })).toHaveAttribute("aria-expanded", "false");
  await second.locator("tr").first().locator("td").nth(7).click();
  await expect(second.locator("tr.expansion")).toContainText("permissions");
});

test("the event page shows who, what, when, where and how, and leads to the target's history", async ({ page }) => {
  await open(page, `/events/${tag}-2`);
  for (const section of ["Who", "What", "When", "Where", "How", "Changes"]) {
    await expect(page.getByRole("heading", { name: section, exact: true })).toBeVisible();
  }
  await expect(page.locator(".related", { hasText: "Same session" })).toContainText("app.view");

  await page.getByRole("link", { name: "History of this target" }).click();
  await expect(page).toHaveURL(new RegExp(`/targets/role/${role}`));
  const entries = page.locator(".history-entry");
  await expect(entries).toHaveCount(3);
  await expect(entries.nth(0)).toContainText(`Carla ${tag}`); // oldest first
  await expect(entries.nth(0)).toContainText("Support staff");
  await expect(entries.nth(2)).toContainText(`Ana ${tag}`);
});

test("an unknown event id is a 404 page", async ({ page }) => {
  const response = await page.goto(`/events/no-such-${tag}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("a copied URL reopens the same view", async ({ page, context }) => {
  await open(page, `/events?range=7d&q=${tag}`);
  await pick(page, "env", prod);
  await pick(page, "type", "role.update");
  // The view as filtered, not the table before the filter applied.
  await expect(page).toHaveURL(/type=role\.update/);
  await expect(rows(page)).toHaveCount(1);
  const url = page.url();
  const shown = await rows(page).allInnerTexts();

  const other = await context.newPage();
  await open(other, url);
  await expect(rows(other)).toHaveCount(shown.length);
  await expect(other.locator(`select[name="env"]`)).toHaveValue(prod);
  await expect(other.locator(".chip", { hasText: "type: role.update" })).toBeVisible();
});

test("Download CSV gives exactly the current filter as a file", async ({ page }) => {
  await open(page, `/events?range=7d&q=${tag}&env=${prod}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^vigil-events-\d{8}-\d{6}\.csv$/);
  const path = await download.path();
  const text = require("fs").readFileSync(path, "utf8");
  const lines = text.split("\r\n").filter((l: string) => l.length > 0);
  expect(lines[0]).toMatch(/^id,occurred_at,/);
  expect(lines.length).toBe(1 + 3);
  expect(text).toContain(`${tag}-1`);
  expect(text).not.toContain(stage);
});

test("brushing across the chart narrows the time range to the span", async ({ page }) => {
  await open(page, `/events?range=7d&q=${tag}`);
  const chart = page.locator("#activity-chart");
  await expect(chart).toHaveAttribute("data-ready", "true");
  const box = (await chart.boundingBox())!;
  const y = box.y + box.height * 0.6;
  await page.mouse.move(box.x + box.width * 0.55, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.99, y, { steps: 8 });
  await page.mouse.up();

  await expect(page).toHaveURL(/from=.*&to=/);
  const url = new URL(page.url());
  const from = Date.parse(url.searchParams.get("from")!);
  const to = Date.parse(url.searchParams.get("to")!);
  expect(to - from).toBeGreaterThan(3 * 3600_000); // several 3-hour bars
  expect(to - from).toBeLessThan(5 * 24 * 3600_000);
  await expect(page.locator("tbody.event").first()).toBeVisible();
});
