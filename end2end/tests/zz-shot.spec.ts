import { test, expect } from "@playwright/test";
import { open } from "./helpers";
test.setTimeout(180_000);
test("shot", async ({ page, browser }) => {
  await page.setViewportSize({ width: 1400, height: 1000 });
  const shot = async (path: string, name: string) => {
    await open(page, path);
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `/tmp/shot-${name}.png`, fullPage: false });
  };
  await shot("/targets/app/app_insight", "target");
  await shot("/settings", "users");
  await shot("/settings/keys", "keys");
  await shot("/settings/sessions", "consolesessions");
  await shot("/preferences", "prefs");
  await shot("/services/2", "service");
  await shot("/settings/services", "svcsettings");
  await shot("/settings/channels", "channels");
  await shot("/", "landing");
  const ctx = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const p2 = await ctx.newPage();
  await p2.setViewportSize({ width: 1400, height: 900 });
  await p2.goto("/events");
  await p2.waitForTimeout(1000);
  await p2.screenshot({ path: "/tmp/shot-login.png" });
});
