import { test } from "@playwright/test";
import { open } from "./helpers";

const pages = [
  ["events", "/events"],
  ["events-7d", "/events?range=7d"],
  ["events-q", "/events?range=7d&q=delete"],
  ["sessions", "/sessions"],
  ["compare", "/compare"],
  ["services", "/services"],
  ["alerts", "/alerts"],
  ["verify", "/verify"],
  ["data", "/settings/data"],
  ["system", "/settings/system"],
  ["rules", "/settings/rules"],
  ["svc-settings", "/settings/services"],
  ["views", "/views"],
  ["prefs", "/preferences"],
  ["keys", "/settings/keys"],
];
test.setTimeout(300_000);
test("shots", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  for (const [name, path] of pages) {
    await open(page, path);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `/tmp/shots/${name}.png`, fullPage: true });
  }
  // drill: first event row → detail; first session → detail; a service
  await open(page, "/events");
  await page.locator("table.events tbody tr a.event-id, table tbody tr a[href^='/events/']").first().click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `/tmp/shots/event.png`, fullPage: true });
  await open(page, "/sessions");
  await page.locator("a[href^='/sessions/']").first().click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `/tmp/shots/session.png`, fullPage: true });
  await open(page, "/services");
  await page.locator("a[href^='/services/']").first().click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `/tmp/shots/service.png`, fullPage: true });
});
