import { test, expect, Page } from "@playwright/test";
import { addUser, ingest, marker, open, signIn } from "./helpers";

const tag = marker("c");
const [envA, envB] = [`cmpa-${tag}`, `cmpb-${tag}`];
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const event = (environment: string, type: string, m: number, extra: object = {}) => ({
  type, occurred_at: minutesAgo(m), environment, organization: { id: `org-${tag}` },
  actor: { id: `ana-${tag}`, name: "Ana" }, target: { type: "role", id: `role-${tag}`, name: "Admin" }, ...extra,
});
const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

test.beforeAll(async ({ request }) => {
  await ingest(request, [
    event(envA, "role.update", 30, { changes: [{ field: "description", old: "x", new: "Everything" }] }),
    event(envA, "app.view", 20),
    event(envB, "role.update", 25, { changes: [{ field: "description", old: "x", new: "Read only" }] }),
    event(envB, "app.export", 15),
    event(envB, "app.export", 10),
  ]);
});

test("compare two environments and follow a cell to the explorer", async ({ page }) => {
  await open(page, `/compare?env=${envA}&env=${envB}&range=1h`);
  await expect(page.locator("#compare-chart")).toHaveAttribute("data-ready", "true");
  const exports = page.locator("table.compare-types tr", { hasText: "app.export" });
  await expect(exports).toContainText("100 %");
  await expect(page.locator(".only-in-group[data-dimension=type]")).toContainText(`only in ${envB}`);
  // The roles' latest states differ, and the difference is highlighted.
  const role = page.locator("table.compare-states tr.differs", { hasText: "Admin" });
  await expect(role).toContainText("Everything");
  await expect(role).toContainText("Read only");
  await expect(role.locator("dd.differs")).toHaveCount(2);

  // Share of each environment's own total: the view is in the URL.
  await page.getByLabel("Share of its own total").check();
  await expect(page).toHaveURL(/share=1/);
  await expect(exports).toContainText("(66.7 %)");

  await exports.locator("td a").nth(1).click();
  await expect(page).toHaveURL(new RegExp(`/events\\?env=${envB}&type=app.export&range=1h`));
  await expect(page.locator("p.summary")).toHaveAttribute("data-total", "2");

  // From the explorer, "Compare environments" keeps the filters but the environment.
  await page.getByRole("link", { name: "Compare environments" }).click();
  await expect(page).toHaveURL(/\/compare\?type=app.export&range=1h$/);
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/events\\?env=${envB}`));
});

async function saveView(page: Page, name: string, shared: boolean) {
  await page.locator(".views-menu summary").click();
  await page.getByLabel("Save this view as").fill(name);
  if (shared) await page.getByLabel("Share with everyone").check();
  await page.getByRole("button", { name: "Save view" }).click();
  await expect(page.locator(".views-menu .saved-views")).toContainText(name);
}

test("a saved view reopens after a reload, and is listed for others only when shared", async ({ page, browser }) => {
  const [shared, mine] = [`Shared ${tag}`, `Private ${tag}`];
  await open(page, `/events?env=${envB}&range=1h`);
  await saveView(page, shared, true);
  await open(page, `/compare?env=${envA}&env=${envB}`);
  await saveView(page, mine, false);

  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.locator(".views-menu summary").click();
  await page.locator(".views-menu").getByRole("menuitem", { name: shared }).click();
  await expect(page).toHaveURL(new RegExp(`/events\\?env=${envB}&range=1h$`));
  await expect(page.locator("p.summary")).toHaveAttribute("data-total", "3");

  const email = `views-${tag}@e2e.example`;
  addUser(email, ["--role", "auditor"]);
  const other = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const theirs = await other.newPage();
  await theirs.goto("/events");
  await signIn(theirs, email);
  await expect(theirs.locator("body")).toHaveAttribute("data-hydrated", "true");
  await theirs.locator(".views-menu summary").click();
  await expect(theirs.locator(".views-menu").getByRole("menuitem", { name: shared })).toBeVisible();
  await expect(theirs.locator(".views-menu").getByRole("menuitem", { name: mine })).toHaveCount(0);
  await theirs.locator(".views-menu").getByRole("menuitem", { name: shared }).click();
  await expect(theirs).toHaveURL(new RegExp(`env=${envB}`));
  await other.close();
});

test("clicking a place on the sessions map filters the table to its country", async ({ page, request }) => {
  const env = `map-${tag}`;
  const signIn = (session: string, ip: string, m: number) => ({
    type: "session.sign_in", occurred_at: minutesAgo(m), environment: env, organization: { id: `org-${tag}` },
    actor: { id: `kim-${tag}`, name: "Kim", session_id: `${session}-${tag}` }, client: { ip, user_agent: chrome },
  });
  await ingest(request, [signIn("london", "81.2.69.160", 12), signIn("tokyo", "126.0.1.1", 6)]);
  await open(page, `/sessions?env=${env}`);
  await expect(page.locator("tbody tr")).toHaveCount(2);
  const map = page.locator("#sessions-map");
  await expect(map).toHaveAttribute("data-ready", "true");
  // Where Tokyo's dot is drawn, as ECharts computes it, clicked with the mouse.
  const [x, y] = await map.evaluate((el) => (window as any).echarts.getInstanceByDom(el).convertToPixel("geo", [139.7, 35.7]));
  const box = (await map.boundingBox())!;
  await page.mouse.click(box.x + x, box.y + y);
  await expect(page).toHaveURL(/country=JP/);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.locator("tbody tr")).toContainText("Tokyo");

  // A session's own map draws its path; the flight from London is impossible.
  await page.locator("tbody tr a", { hasText: "Kim" }).first().click();
  await expect(page.locator("#session-map")).toHaveAttribute("data-ready", "true");
  await expect(page.locator(".map-legend")).toContainText("faster than an airliner");
});
