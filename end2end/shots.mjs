import { chromium } from "@playwright/test";
const base = "http://127.0.0.1:3300";
const pages = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await ctx.newPage();
await page.goto(base + "/login");
await page.getByLabel("E-mail").fill("shot@vigil.local");
await page.getByLabel("Password").fill("shot-password-123");
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL(u => !u.pathname.startsWith("/login"));
let i = 0;
for (const p of pages) {
  await page.goto(base + p);
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(800);
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: `/tmp/shot${i}.png`, fullPage: true });
  console.log(i, p, "width", w);
  i++;
}
await browser.close();
