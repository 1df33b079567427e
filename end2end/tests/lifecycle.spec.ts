import { execFileSync } from "node:child_process";
import { test, expect } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

const tag = marker("l");
const env = `life-${tag}`;

/** Run SQL on the test's database, as someone with access to it (not through Vigil). */
function sql(statement: string) {
  const url = process.env.E2E_DATABASE_URL ?? process.env.DATABASE_URL ?? "";
  return execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement], { encoding: "utf8" }).trim();
}

test.beforeAll(async ({ request }) => {
  await ingest(request, [
    { id: `${tag}-1`, type: "role.update", environment: env, actor: { id: "u1", name: "Ana" }, target: { type: "role", id: "r1", name: "Support" } },
    { id: `${tag}-2`, type: "app.view", environment: env, actor: { id: "u2", name: "Bo" } },
  ]);
});

test("the Data page shows purge health and sets an environment's retention", async ({ page }) => {
  await open(page, "/settings/data");
  await expect(page.locator(".purge-health")).toContainText("Purge health");
  await expect(page.locator(".purge-health")).toContainText("Created ahead");
  // No error yet: "none", not in the colour of an error.
  await expect(page.locator(".purge-health dd", { hasText: /^none$/ }).first()).toBeVisible();
  await expect(page.locator(".purge-health dd.bad")).toHaveCount(0);
  const row = page.locator(`tr[data-environment="${env}"]`);
  await expect(row).toContainText("400 days");
  await expect(row).toContainText("default");
  // The oldest event in the reader's zone with a relative time, as every time.
  await expect(row.locator("td.time time")).toHaveAttribute("title", /UTC$/);
  await expect(page.locator("table.partitions tbody tr").first()).toContainText("created ahead");

  await row.getByLabel(`Retention of ${env}`).fill("forever");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("kept forever");
  await row.getByLabel(`Retention of ${env}`).fill("90");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("90 days");
  await expect(row).not.toContainText("default");

  await row.getByLabel(`Retention of ${env}`).fill("0");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("from 1 to 36 500, or forever");
});

test("a recording rule drops what it names and counts it", async ({ page, request }) => {
  await open(page, "/settings/rules");
  // Checked first against what was recorded: nothing is saved.
  await page.getByLabel("Event type").fill("app.view");
  await page.getByLabel("Environment").fill(env);
  await page.getByRole("button", { name: "Check against the last 7 days" }).click();
  await expect(page.locator(".rule-impact")).toContainText("events recorded in the last 7 days, this rule matches 1 (");
  await expect(page.locator(".rule-impact")).toContainText("and would drop 1.");
  await expect(page.locator('tr[data-rule="app.view"]')).toHaveCount(0);
  await expect(page.getByLabel("Event type")).toHaveValue("app.view");

  await page.getByLabel("Event type").fill(`noise.${tag}`);
  await page.getByLabel("Environment").fill(env);
  await page.getByRole("button", { name: "Add rule" }).click();
  await expect(page.locator(".rule-impact")).toContainText("Saved. No event recorded in the last 7 days");
  const rule = page.locator(`tr[data-rule="noise.${tag}"]`);
  await expect(rule).toContainText(`environment ${env}`);
  await expect(rule).toContainText("drop");

  const reply = await ingest(request, [{ type: `noise.${tag}`, environment: env, actor: { id: "u1" } }]);
  expect(reply.dropped).toBe(1);
  expect(reply.accepted).toBe(0);
  await page.reload();
  await expect(rule.locator(".dropped-today")).toHaveText("1");
  await rule.getByRole("button", { name: "Delete" }).click();
  await expect(rule).toHaveCount(0);
});

test("recording rules are edited in place and reordered, and the order decides", async ({ page, request }) => {
  await open(page, "/settings/rules");
  const add = async (eventType: string) => {
    await page.getByLabel("Event type").fill(eventType);
    await page.getByLabel("Environment").fill(env);
    await page.getByRole("button", { name: "Add rule" }).click();
    await expect(page.locator(`tr[data-rule="${eventType}"]`)).toBeVisible();
    await expect(page.getByLabel("Event type")).toHaveValue("");
  };
  await add(`order.${tag}.*`);
  await add(`order.${tag}.view`);
  const broad = page.locator(`tr[data-rule="order.${tag}.*"]`);
  const narrow = page.locator(`tr[data-rule="order.${tag}.view"]`);

  // Edited in place: the form comes filled, a blank pattern stays blank, the rule keeps its place.
  await narrow.getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/\/settings\/rules\/\d+\/edit$/);
  await expect(page.getByLabel("Event type")).toHaveValue(`order.${tag}.view`);
  await expect(page.getByLabel("Environment")).toHaveValue(env);
  await expect(page.getByLabel("Organization")).toHaveValue("");
  await page.getByLabel("Keep one in (blank: drop all)").fill("1000000");
  await page.getByLabel("Note").fill("keep a few views");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/settings\/rules$/);
  await expect(narrow).toContainText("keep 1 in 1000000");
  await expect(narrow).toContainText("keep a few views");

  // Below the broad rule it never applies: a view is dropped by the broad one.
  const order = async (row: typeof broad) => Number(await row.locator("td.order").textContent());
  expect(await order(narrow)).toBe((await order(broad)) + 1);
  await expect(narrow.getByRole("button", { name: "Move down" })).toBeDisabled();
  let reply = await ingest(request, [{ id: `${tag}-o1`, type: `order.${tag}.view`, environment: env, actor: { id: "u1" } }]);
  expect(reply.dropped).toBe(1);

  // Moved up, it decides first (keep one in a million drops this view too, but counts it as its own).
  await narrow.getByRole("button", { name: "Move up" }).click();
  await expect(async () => expect(await order(narrow)).toBe((await order(broad)) - 1)).toPass();
  reply = await ingest(request, [{ id: `${tag}-o2`, type: `order.${tag}.view`, environment: env, actor: { id: "u1" } }]);
  expect(reply.dropped).toBe(1);
  await page.reload();
  await expect(narrow.locator(".dropped-today")).toHaveText("1");
  await expect(broad.locator(".dropped-today")).toHaveText("1");

  for (const row of [narrow, broad]) {
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
  }
});

test("the Integrity page verifies the store, and finds a row edited behind Vigil's back", async ({ page }) => {
  await open(page, "/verify");
  await expect(page.locator(".seal-facts")).toContainText("Public key");
  // The sealer chains committed batches within a second.
  await expect(async () => {
    await open(page, "/verify");
    await expect(page.locator(".seal-facts")).toHaveAttribute("data-unsealed", "0", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });

  await page.getByRole("button", { name: "Run verification" }).click();
  await expect(page.locator('[data-verify="clean"]')).toContainText("Nothing was altered, deleted or forged");

  const original = sql(`select actor_name from events where id = '${tag}-1'`);
  sql(`update events set actor_name = 'Mallory' where id = '${tag}-1'`);
  try {
    await page.getByRole("button", { name: "Run verification" }).click();
    const result = page.locator('[data-verify="tampered"]');
    await expect(result).toContainText("The store was tampered with");
    await expect(result.locator('[data-finding="edited_event"]')).toContainText(`event ${tag}-1`);
    await result.getByRole("link", { name: "open the event" }).click();
    await expect(page).toHaveURL(new RegExp(`/events/${tag}-1$`));
  } finally {
    sql(`update events set actor_name = '${original}' where id = '${tag}-1'`);
  }
});
