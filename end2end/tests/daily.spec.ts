import { test, expect } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

const tag = marker("d");
const env = `daily-${tag}`;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

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
