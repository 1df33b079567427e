import { test, expect } from "@playwright/test";
import { ingest, marker, open } from "./helpers";

const tag = marker("m");

test("the new-service form shows the fields of the check chosen", async ({ page }) => {
  await open(page, "/settings/services");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const check = page.locator(`select[name="kind"]`);
  await expect(page.getByLabel("URL")).toBeVisible();
  await expect(page.getByLabel("Body contains")).toBeVisible();
  await expect(page.getByLabel("Resolves to")).toBeHidden();
  await check.selectOption("tcp");
  await expect(page.getByLabel("Host:port")).toBeVisible();
  await expect(page.getByLabel("Body contains")).toBeHidden();
  await expect(page.getByLabel("Method")).toBeHidden();
  await check.selectOption("dns");
  await expect(page.getByLabel("Resolves to")).toBeVisible();
  await check.selectOption("heartbeat");
  await expect(page.locator(`input[name="target"]`)).toBeHidden();
  await expect(page.getByLabel("Timeout (ms)")).toBeHidden();
  await expect(page.getByLabel("Expected every (s, ≥ 15)")).toBeVisible();
  await expect(page.locator(".settings-form .wide-hint")).toContainText("heartbeat address");
});

test("a new service is checked at once and its bar fills", async ({ page, baseURL }) => {
  await open(page, "/settings/services");
  await page.getByLabel("Name", { exact: true }).fill(`Console ${tag}`);
  await page.getByLabel("Environment").fill(`mon-${tag}`);
  await page.locator(`select[name="kind"]`).selectOption("http");
  await page.getByLabel("URL").fill(`${baseURL}/login`);
  await page.getByLabel("Body contains").fill("Vigil");
  await page.getByLabel(/^Every/).fill("15");
  await page.getByRole("button", { name: "Add service" }).click();
  const adminRow = page.locator(`tr[data-service="Console ${tag}"]`);
  await expect(adminRow).toContainText(`mon-${tag}`);

  await open(page, "/services");
  await expect(page.getByRole("link", { name: "Manage services" })).toHaveAttribute("href", "/settings/services");
  const row = page.locator(`tr[data-service="Console ${tag}"]`);
  await expect(async () => {
    await page.reload();
    await expect(row.locator(".badge.state-up")).toHaveText("up", { timeout: 1_000 });
  }).toPass({ intervals: [500, 1_000], timeout: 20_000 });
  await expect(row.locator(".result-bar .mark.ok").first()).toBeVisible();
  await expect(row.locator("td.uptime").first()).toHaveText("100 %");

  await row.getByRole("link", { name: `Console ${tag}` }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Console ${tag}`);
  await expect(page.locator(".result-bar")).toHaveAttribute("data-results", /^[1-9]/);
  await expect(page.getByText("No incident.")).toBeVisible();
  await expect(page.locator("#latency-chart")).toHaveAttribute("data-ready", "true");

  // A maintenance window started in the settings ends early from the service's page.
  const servicePage = page.url();
  await open(page, "/settings/services");
  await adminRow.getByLabel("Minutes").fill("90");
  await adminRow.getByLabel("Note").fill("upgrade");
  await expect(adminRow.getByText("maintenance", { exact: true })).toHaveCount(0);
  await adminRow.getByRole("button", { name: "Start window" }).click();
  // The row says a window is open (the page once left before it was saved).
  await expect(adminRow.getByText("maintenance", { exact: true })).toBeVisible();
  await expect(adminRow.getByLabel("Note")).toHaveValue("");
  await open(page, servicePage);
  const windows = page.locator("li[data-window]");
  await expect(windows).toHaveCount(1);
  await expect(windows).toContainText("upgrade");
  await windows.getByRole("button", { name: "End now" }).click();
  await expect(windows).toHaveCount(0);
  await expect(page.getByText("None planned.")).toBeVisible();

  // Edited in the form it was added with; its history stays.
  await page.getByRole("link", { name: "Edit", exact: true }).click();
  await expect(page).toHaveURL(/\/settings\/services\/\d+\/edit$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByLabel("URL")).toHaveValue(`${baseURL}/login`);
  await expect(page.getByLabel("Body contains")).toHaveValue("Vigil");
  await expect(page.getByText("Another check starts over")).toBeHidden();
  await page.getByLabel(/^Every/).fill("30");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/settings\/services$/);
  await expect(adminRow).toContainText("every 30 s");
  // A service deleted since, or never there: said, with the way back.
  await open(page, "/settings/services/999999/edit");
  await expect(page).toHaveTitle(/Edit service · Settings/);
  await expect(page.getByText("No such service: it may have been deleted.")).toBeVisible();
  await page.getByRole("link", { name: "Back to the services" }).click();
  await expect(page).toHaveURL(/\/settings\/services$/);
  await open(page, "/services");
  await expect(row.locator(".result-bar")).toHaveAttribute("data-results", /^[1-9]/);
});

test("a service's check changes in place, and a heartbeat's address is shown once", async ({ page, request }) => {
  const name = `Job ${tag}`;
  await open(page, "/settings/services");
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Environment").fill(`mon-${tag}`);
  await page.locator(`select[name="kind"]`).selectOption("tcp");
  await page.getByLabel("Host:port").fill("127.0.0.1:9");
  await page.getByRole("button", { name: "Add service" }).click();
  const row = page.locator(`tr[data-service="${name}"]`);
  await expect(row).toContainText("127.0.0.1:9");

  await row.getByRole("link", { name: "Edit" }).click();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByText("New heartbeat address")).toBeHidden();
  await page.locator(`select[name="kind"]`).selectOption("heartbeat");
  await expect(page.getByText("Another check starts over")).toContainText("gets a heartbeat address, shown once when saved");
  await page.getByRole("button", { name: "Save changes" }).click();
  // The page stays to show the address once, with the way back.
  const shown = page.locator(".secret[role=status]");
  await expect(shown).toContainText("Heartbeat address");
  await expect(shown.getByRole("button", { name: "Copy" })).toBeVisible();
  const first = (await shown.locator("code").textContent())!;
  expect(first).toMatch(/^\/api\/v1\/heartbeats\/\S+$/);
  await expect(page.getByRole("button", { name: "Save changes" })).toBeHidden();
  expect((await request.post(first)).status()).toBe(200);
  await page.getByRole("link", { name: "Back to the services" }).click();
  await expect(page).toHaveURL(/\/settings\/services$/);
  await expect(row).toContainText("heartbeat");

  // A new address replaces the one that leaked.
  await row.getByRole("link", { name: "Edit" }).click();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("New heartbeat address").check();
  await page.getByRole("button", { name: "Save changes" }).click();
  const second = (await shown.locator("code").textContent())!;
  expect(second).not.toBe(first);
  expect((await request.post(first)).status()).toBe(401);
  expect((await request.post(second)).status()).toBe(200);

  // Back to a probe: the address stops working, the page goes back to the list.
  await open(page, "/settings/services");
  await row.getByRole("link", { name: "Edit" }).click();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.locator(`select[name="kind"]`).selectOption("tcp");
  await expect(page.getByText("Another check starts over")).toContainText("its heartbeat address stops working");
  await page.getByLabel("Host:port").fill("127.0.0.1:9");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/settings\/services$/);
  await expect(row).toContainText("127.0.0.1:9");
  expect((await request.post(second)).status()).toBe(401);
});

test("an alert made from an explorer view fires on the Alerts page", async ({ page, request }) => {
  const env = `alert-${tag}`;
  await ingest(request, [{ type: "app.delete", environment: env, outcome: "denied", actor: { id: "u1", name: "Ana" } }]);
  await open(page, `/events?env=${env}&outcome=denied`);
  await page.getByRole("link", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts\/new\?view=/);
  await expect(page.locator(".panel").first()).toContainText(`env=${env}`);
  await page.getByLabel("Name").fill(`Denied in ${env}`);
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const rule = page.locator(`tr[data-rule="Denied in ${env}"]`);
  await expect(rule).toContainText("any new event matching");

  await ingest(request, [
    { type: "app.delete", environment: env, outcome: "denied", actor: { id: "u2", name: "Bo" } },
    { type: "app.view", environment: env, outcome: "success", actor: { id: "u2", name: "Bo" } },
  ]);
  await expect(async () => {
    await page.reload();
    await expect(rule).toHaveAttribute("data-firing", "true", { timeout: 1_000 });
  }).toPass({ intervals: [500, 1_000], timeout: 20_000 });
  await expect(rule.locator(".alert-state")).toContainText("FIRING");
  await expect(page.locator("table.alert-history")).toContainText(new RegExp(`\\d+ new events? match(es)? "Denied in ${env}"`));
  // The line names the matching event and leads to it.
  const line = page.locator("table.alert-history tbody tr", { hasText: `Denied in ${env}` }).first();
  await line.locator("a.event-id").first().click();
  await expect(page).toHaveURL(/\/events\/[^/]+$/);
  await expect(page.locator("main")).toContainText("app.delete");
  await page.goBack();

  await rule.getByLabel("Mute for").selectOption("480");
  await rule.getByRole("button", { name: "Mute", exact: true }).click();
  await expect(rule.locator(".alert-state")).toContainText("muted");
  await expect(rule.locator(".alert-state")).toContainText("in 8 hours");
  await expect(rule.getByRole("button", { name: "Unmute" })).toBeVisible();
});

test("the new-alert form shows the fields of the kind chosen and says what the rule will do", async ({ page, request }) => {
  const env = `form-${tag}`;
  await ingest(request, [
    { id: `${env}-1`, type: "app.view", environment: env, actor: { id: "u1" } },
    { id: `${env}-2`, type: "app.view", environment: env, actor: { id: "u2" } },
  ]);
  await open(page, `/alerts/new?view=${encodeURIComponent(`env=${env}`)}`);
  // What the view matched lately, to choose a threshold against.
  await expect(page.locator(".view-matches")).toHaveText("It matched 2 events in the last 7 days, at most 2 in a day.");
  const threshold = page.getByLabel("Count at least");
  await expect(threshold).toBeHidden();
  await expect(page.locator(`select[name="service_id"]`)).toBeHidden();
  await expect(page.getByLabel("Resolve after (minutes without a match)")).toBeVisible();
  await expect(page.locator(".what-it-does")).toContainText("notifies at once; the matches of the next minute are gathered");

  await page.getByLabel("Fire when").selectOption("count");
  await expect(threshold).toBeVisible();
  await expect(page.locator(".what-it-does")).toContainText("at least that many events within the window");
  await page.getByLabel("Name").fill(`Busy ${env}`);
  await threshold.fill("5");
  await page.getByLabel("Within (minutes)").fill("3");
  await page.locator(`select[name="group_by"]`).selectOption("user");
  await page.getByLabel("Re-notify every (minutes)").fill("30");
  // Replayed on the last days before it is saved: how often would it fire?
  const check = page.getByRole("button", { name: "Check against the last 7 days" });
  await check.click();
  await expect(page.locator(".alert-replay")).toHaveText("With ≥ 5 events in 3 min per user, it would not have fired in the last 7 days.");
  await threshold.fill("1");
  await check.click();
  await expect(page.locator(".alert-replay")).toContainText(
    "With ≥ 1 event in 3 min per user, it would have fired twice in the last 7 days, for 2 users. The last time: ",
  );
  await expect(page).toHaveURL(/\/alerts\/new/);
  await threshold.fill("5");
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const busy = page.locator(`tr[data-rule="Busy ${env}"]`);
  await expect(busy).toContainText(`≥ 5 events in 3 min per user matching env=${env}`);

  // Edited in the same form, filled with what the rule says.
  await busy.getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/\/alerts\/\d+\/edit$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(threshold).toHaveValue("5");
  await expect(page.getByLabel("Within (minutes)")).toHaveValue("3");
  await expect(page.locator(`select[name="group_by"]`)).toHaveValue("user");
  await threshold.fill("7");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(busy).toContainText(`≥ 7 events in 3 min per user matching env=${env}`);

  await open(page, "/alerts/new");
  await page.getByLabel("Fire when").selectOption("service_down");
  await expect(page.locator(`select[name="service_id"]`)).toBeVisible();
  await expect(page.getByRole("button", { name: "Check against the last 7 days" })).toBeHidden();
  await expect(threshold).toBeHidden();
  await expect(page.getByText("Watching the view:")).toBeHidden();
});

test("a silence rule fires when its view has had no event for its window", async ({ page, request }) => {
  const env = `quiet-${tag}`;
  await ingest(request, [{ type: "app.view", environment: env, occurred_at: new Date(Date.now() - 3 * 3600_000).toISOString(), actor: { id: "u1" } }]);
  await open(page, `/alerts/new?view=${encodeURIComponent(`env=${env}`)}`);
  await page.getByLabel("Fire when").selectOption("silence");
  await expect(page.getByLabel("Quiet for (minutes)")).toBeVisible();
  await expect(page.getByLabel("Count at least")).toBeHidden();
  await expect(page.getByLabel("Per")).toBeVisible();
  await expect(page.getByRole("button", { name: "Check against the last 7 days" })).toBeHidden();
  await expect(page.getByText("Watching the view:")).toBeVisible();
  await expect(page.locator(".what-it-does")).toContainText("no event matches the view for that many minutes");
  await page.getByLabel("Name").fill(`Quiet ${env}`);
  await page.getByLabel("Quiet for (minutes)").fill("60");
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const rule = page.locator(`tr[data-rule="Quiet ${env}"]`);
  await expect(rule).toContainText(`no event matching env=${env} for 1 h`);
  // Its one event is three hours old: the evaluator finds the view quiet.
  await expect(async () => {
    await page.reload();
    await expect(rule).toHaveAttribute("data-firing", "true", { timeout: 1_000 });
  }).toPass({ intervals: [500, 1_000], timeout: 20_000 });
  await expect(page.locator("table.alert-history")).toContainText(`no event in 1 h: "Quiet ${env}"`);
  // The next event of the view resolves it.
  await ingest(request, [{ type: "app.view", environment: env, actor: { id: "u1" } }]);
  await expect(async () => {
    await page.reload();
    await expect(rule).toHaveAttribute("data-firing", "false", { timeout: 1_000 });
  }).toPass({ intervals: [500, 1_000], timeout: 20_000 });
  await expect(page.locator("table.alert-history")).toContainText(`"Quiet ${env}" resolved`);
});

test("a silence rule per app fires for the app that went quiet and leads to its events", async ({ page, request }) => {
  const env = `apps-${tag}`;
  const threeHoursAgo = new Date(Date.now() - 3 * 3600_000).toISOString();
  await ingest(request, [
    { type: "app.view", environment: env, occurred_at: threeHoursAgo, app: { id: "app_gone" }, actor: { id: "u1" } },
    { type: "app.view", environment: env, app: { id: "app_busy" }, actor: { id: "u1" } },
  ]);
  await open(page, `/alerts/new?view=${encodeURIComponent(`env=${env}`)}`);
  // A count per user, then a silence rule: "Per" forgets the user, which is no source of events.
  await page.getByLabel("Fire when").selectOption("count");
  await page.getByLabel("Per").selectOption("user");
  await page.getByLabel("Fire when").selectOption("silence");
  await expect(page.getByLabel("Per")).toHaveValue("");
  await expect(page.locator(".what-it-does")).toContainText("for each environment, organization or app that sent matching events in the 7 days before");
  await page.getByLabel("Per").selectOption("app");
  await page.getByLabel("Name").fill(`Apps of ${env}`);
  await page.getByLabel("Quiet for (minutes)").fill("60");
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const rule = page.locator(`tr[data-rule="Apps of ${env}"]`);
  await expect(rule).toContainText(`no event matching env=${env} from any app for 1 h`);
  await expect(async () => {
    await page.reload();
    await expect(rule).toHaveAttribute("data-firing", "true", { timeout: 1_000 });
  }).toPass({ intervals: [500, 1_000], timeout: 20_000 });
  await expect(page.locator("table.alert-history")).toContainText(`no event in 1 h for app app_gone: "Apps of ${env}"`);
  await expect(rule.locator(".alert-state")).not.toContainText("app_busy");
  // The quiet app leads to its events.
  await rule.locator(".alert-state").getByRole("link", { name: "app_gone" }).click();
  await expect(page).toHaveURL(new RegExp(`/events\\?.*app=app_gone`));
  await expect(page).toHaveURL(new RegExp(`env=${env}`));
});

test("a rule notifies every channel ticked, and editing it keeps them", async ({ page }) => {
  const names = [`Pager ${tag}`, `Chat ${tag}`];
  await open(page, "/settings/channels");
  for (const name of names) {
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("URL").fill("http://127.0.0.1:9/hook");
    await page.getByRole("button", { name: "Add channel" }).click();
    await expect(page.locator(`tr[data-channel="${name}"]`)).toHaveCount(1);
    await expect(page.getByLabel("Name")).toHaveValue("");
  }

  await open(page, `/alerts/new?view=${encodeURIComponent(`env=chan-${tag}`)}`);
  const notify = page.getByRole("group", { name: "Notify" });
  await expect(notify).toContainText("(this page only)");
  await page.getByLabel("Name").fill(`Both ${tag}`);
  for (const name of names) await notify.getByLabel(`${name} (webhook)`).check();
  await expect(notify.getByText("(this page only)")).toBeHidden();
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  const rule = page.locator(`tr[data-rule="Both ${tag}"]`);
  await expect(rule).toContainText(`${names[0]}, ${names[1]}`);

  // The edit form ticks both; unticking one keeps the other.
  await rule.getByRole("link", { name: "Edit" }).click();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  for (const name of names) await expect(notify.getByLabel(`${name} (webhook)`)).toBeChecked();
  await notify.getByLabel(`${names[0]} (webhook)`).uncheck();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(rule.locator("td").nth(2)).toHaveText(names[1]);

  // A channel renamed and pointed elsewhere stays the rule's channel.
  await open(page, "/settings/channels");
  await page.locator(`tr[data-channel="${names[1]}"]`).getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/\/settings\/channels\/\d+\/edit$/);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByLabel("URL")).toHaveValue("http://127.0.0.1:9/hook");
  await expect(page.getByLabel("New signing secret (blank keeps it)")).toBeVisible();
  await page.getByLabel("Name").fill(`Team chat ${tag}`);
  await page.getByLabel("URL").fill("http://127.0.0.1:9/team");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/settings\/channels$/);
  await expect(page.locator(`tr[data-channel="Team chat ${tag}"]`)).toContainText("http://127.0.0.1:9/team");
  await expect(page.locator(`tr[data-channel="Team chat ${tag}"] td.used-by`)).toHaveText(`Both ${tag}`);
  await expect(page.locator(`tr[data-channel="${names[0]}"] td.used-by`)).toHaveText("no rule");

  // A channel a rule notifies is kept, and the refusal names the rule; one no rule uses goes.
  await page.locator(`tr[data-channel="Team chat ${tag}"]`).getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alert")).toContainText(`used by the alert rules “Both ${tag}”: change or delete them first`);
  await expect(page.locator(`tr[data-channel="Team chat ${tag}"]`)).toHaveCount(1);
  await page.locator(`tr[data-channel="${names[0]}"]`).getByRole("button", { name: "Delete" }).click();
  await expect(page.locator(`tr[data-channel="${names[0]}"]`)).toHaveCount(0);
  await open(page, "/alerts");
  await expect(rule.locator("td").nth(2)).toHaveText(`Team chat ${tag}`);
});

test("the new-channel form asks for the destination of the kind chosen", async ({ page }) => {
  await open(page, "/settings/channels");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByLabel("Signing secret")).toBeVisible();
  await page.locator(`select[name="kind"]`).selectOption("email");
  await expect(page.getByLabel("E-mail addresses (comma-separated)")).toBeVisible();
  await expect(page.getByLabel("Signing secret")).toBeHidden();
});
