// `make bench`: the console in Chromium.
//   node end2end/bench/browser.mjs http://127.0.0.1:3300 email password [runs]
// 1. A first visit to the events page: bytes transferred (compressed, as sent)
//    for the page and everything it loads, with an empty cache; then a second
//    visit, when the browser has the bundle and ECharts for good.
// 2. The sessions map, for each page: the sessions and places it maps, then
//    the median and p95 of (a) navigation start → map drawn and (b) hydrated →
//    map drawn (registering the outline, laying out and drawing the dots).
import { chromium } from "@playwright/test";

const [base, email, password, runsText] = process.argv.slice(2);
const runs = Number(runsText ?? 10);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.addInitScript(() => {
  const marks = (window.__marks = {});
  new MutationObserver(() => {
    if (!marks.hydrated && document.body?.dataset.hydrated) marks.hydrated = performance.now();
    if (!marks.map && document.getElementById("sessions-map")?.dataset.ready) marks.map = performance.now();
  }).observe(document, { subtree: true, attributes: true, childList: true });
});
await page.goto(`${base}/login`);
await page.getByLabel("E-mail").fill(email);
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL((url) => !url.pathname.startsWith("/login"));

// 1. First visit: a fresh page (empty cache) with the signed-in cookies, then
//    a second visit of the same page in it (what its cache saves), as counted
//    on the wire by Chromium (compressed bodies and headers; 0 from the cache).
{
  const fresh = await browser.newContext({ storageState: await page.context().storageState() });
  const first = await fresh.newPage();
  const cdp = await fresh.newCDPSession(first);
  await cdp.send("Network.enable");
  const urls = new Map();
  let sizes = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
  cdp.on("Network.loadingFinished", (e) => sizes.push([urls.get(e.requestId), e.encodedDataLength]));
  for (const visit of ["first", "second"]) {
    sizes = [];
    await first.goto(`${base}/events`);
    await first.waitForSelector("body[data-hydrated]");
    await first.waitForSelector("#activity-chart[data-ready]");
    await first.waitForLoadState("networkidle");
    const total = sizes.reduce((sum, [, n]) => sum + n, 0);
    const fetched = sizes.filter(([, n]) => n > 0);
    console.log(`${visit} visit to /events: ${fetched.length} requests over the network, ${total} bytes transferred (${(total / 1000).toFixed(1)} kB, ${(total / 1024).toFixed(1)} KiB)`);
    for (const [path, n] of fetched.sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${path.padEnd(40)} ${String(n).padStart(8)} bytes`);
  }
  await fresh.close();
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
console.log(`${"page".padEnd(40)} ${"sessions".padStart(9)} ${"places".padStart(7)} ${"load→map med".padStart(13)} ${"p95".padStart(7)} ${"hydrated→map med".padStart(17)} ${"p95".padStart(7)}`);
for (const path of ["/sessions?status=all", "/sessions"]) {
  const [total, hydrated] = [[], []];
  let sessions = "", places = "";
  await page.goto(`${base}${path}`);
  await page.waitForSelector("body[data-hydrated]");
  if ((await page.locator("#sessions-map").count()) === 0) {
    // A reused database (BENCH_REUSE=1) may have no active sessions left.
    console.log(`${path.padEnd(40)} no map: no sessions with a place`);
    continue;
  }
  for (let i = 0; i < runs + 1; i++) {
    await page.goto(`${base}${path}`);
    await page.waitForSelector("#sessions-map[data-ready]", { timeout: 30_000 });
    const marks = await page.evaluate(() => window.__marks);
    const label = (await page.locator("#sessions-map").getAttribute("aria-label")) ?? "";
    [, sessions = "?", places = "?"] = label.match(/(\d+) sessions in (\d+) places/) ?? [];
    if (i === 0) continue; // the first run also fetches the outline and compiles the bundle
    total.push(marks.map);
    hydrated.push(marks.map - marks.hydrated);
  }
  const ms = (x) => `${x.toFixed(0)} ms`.padStart(7);
  console.log(`${path.padEnd(40)} ${sessions.padStart(9)} ${places.padStart(7)} ${ms(quantile(total, 0.5)).padStart(13)} ${ms(quantile(total, 0.95))} ${ms(quantile(hydrated, 0.5)).padStart(17)} ${ms(quantile(hydrated, 0.95))}`);
}
await browser.close();
