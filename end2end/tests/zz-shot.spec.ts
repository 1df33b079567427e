import { test, expect } from "@playwright/test";
import { open } from "./helpers";
test.setTimeout(180_000);
test("shot", async ({ page }) => {
  await page.setViewportSize({ width: 1400, height: 1000 });
  const shot = async (path: string, name: string) => {
    await open(page, path);
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `/tmp/shot-${name}.png`, fullPage: false });
  };
  await shot("/events?range=7d", "events");
  await page.locator("table.events tbody tr").first().click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `/tmp/shot-events-expanded.png` });
  const href = await page.locator("table.events tbody a[href^='/events/']").first().getAttribute("href");
  await shot(href!, "event");
  await shot("/sessions", "sessions");
  const sess = await page.locator("a[href^='/sessions/']").first().getAttribute("href");
  await shot(sess!, "session");
  await shot("/compare", "compare");
  await shot("/services", "services");
  await shot("/alerts", "alerts");
  await shot("/verify", "verify");
  await shot("/settings/system", "system");
  await shot("/settings/data", "data");
  await shot("/views", "views");
  await shot("/events?env=vigil&range=7d", "activity");
});
