import { chromium } from "@playwright/test";
const base = "http://127.0.0.1:3300";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.goto(base + "/login");
await page.fill("input[name=email]", "tour@vigil.local");
await page.fill("input[name=password]", "tour-password-123456");
await page.click("button[type=submit]");
await page.waitForURL(/events|\/$/);
const paths = process.argv.slice(2);
for (const p of paths) {
  const t = Date.now();
  await page.goto(base + p);
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 15000 }).catch(() => {});
  await page.waitForTimeout(1500);
  const name = p.replace(/[^a-z0-9]+/gi, "_").slice(0, 60) || "root";
  await page.screenshot({ path: `/tmp/shots/${name}.png`, fullPage: true });
  console.log(p, Date.now() - t, "ms");
}
await browser.close();
