import { test, expect } from "@playwright/test";
import { ADMIN, addUser, ingest, marker, open, PASSWORD, signIn } from "./helpers";
import { INGEST_KEY } from "../playwright.config";

const tag = marker("a");
const fresh = { storageState: { cookies: [], origins: [] } };

test.describe("signed out", () => {
  test.use(fresh);

  test("signing in and out", async ({ page }) => {
    const email = `auditor-${tag}@e2e.example`;
    addUser(email, ["--role", "auditor"]);

    await page.goto("/sessions?status=all");
    await expect(page).toHaveURL(/\/login\?next=%2Fsessions%3Fstatus%3Dall/);
    await signIn(page, email, "wrong password");
    await expect(page.getByRole("alert")).toHaveText("E-mail or password is incorrect.");

    await signIn(page, email);
    await expect(page).toHaveURL(/\/sessions\?status=all$/);
    await expect(page.locator(".topbar .user")).toHaveText(email);
    await expect(page.locator(".topbar .badge.role")).toHaveText("auditor");
    await expect(page.locator(".topbar nav")).not.toContainText("Settings");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login\?signed_out=1/);
    await expect(page.getByText("You are signed out.")).toBeVisible();
    await page.goto("/events");
    await expect(page).toHaveURL(/\/login/);
  });

  test("a user changes their own password in Preferences", async ({ page }) => {
    const email = `own-${tag}@e2e.example`;
    addUser(email, ["--role", "viewer", "--env", "*", "--org", "*"]);
    await page.goto("/preferences");
    await signIn(page, email);
    await expect(page).toHaveURL(/\/preferences$/);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
    await page.getByLabel("New password again").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByRole("alert")).toContainText("the current password is not right");

    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByText("Password changed. Your other sessions are signed out.")).toBeVisible();
    // No password is left in the form once it has been changed.
    for (const field of ["Current password", "New password again"]) await expect(page.getByLabel(field)).toHaveValue("");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.goto("/events");
    await signIn(page, email, PASSWORD);
    await expect(page.getByRole("alert")).toHaveText("E-mail or password is incorrect.");
    await signIn(page, email, "a brand new passphrase");
    await expect(page).toHaveURL(/\/events$/);
  });

  test("a viewer cannot see events outside their scope", async ({ page, request }) => {
    const email = `viewer-${tag}@e2e.example`;
    const allowed = `prod-${tag}`;
    const hidden = `stage-${tag}`;
    addUser(email, ["--role", "viewer", "--env", allowed, "--org", "*"]);
    await ingest(request, [
      { id: `in-${tag}`, type: "role.update", environment: allowed, actor: { name: `Ana ${tag}` }, target: { type: "role", id: `r-${tag}` } },
      { id: `out-${tag}`, type: "role.update", environment: hidden, actor: { name: `Bo ${tag}` }, target: { type: "role", id: `r-${tag}` } },
    ]);

    await page.goto("/events");
    await signIn(page, email);
    await open(page, `/events?q=${tag}`);
    await expect(page.locator(`tr[data-event-id="in-${tag}"]`)).toBeVisible();
    await expect(page.locator(`tr[data-event-id="out-${tag}"]`)).toHaveCount(0);

    // Asking for the hidden environment by filter, or the hidden event by URL, shows nothing.
    await open(page, `/events?env=${hidden}&q=${tag}`);
    await expect(page.locator("tbody tr[data-event-id]")).toHaveCount(0);
    const response = await page.goto(`/events/out-${tag}`);
    expect(response?.status()).toBe(404);
    await open(page, `/targets/role/r-${tag}`);
    await expect(page.getByText(`Ana ${tag}`).first()).toBeVisible();
    await expect(page.getByText(`Bo ${tag}`)).toHaveCount(0);
  });
});

test("an administrator creates an API key, sees it once, and revokes it", async ({ page, request }) => {
  const name = `svc-${tag}`;
  const env = `keys-${tag}`;
  await open(page, "/settings/keys");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Name").fill(name);
  // Organizations are an export key's: typed, then hidden and not sent for an ingest key.
  const organizations = page.getByLabel("Organizations (comma-separated)");
  await expect(organizations).toBeHidden();
  await page.getByLabel("Kind").selectOption("export");
  await organizations.fill("*");
  await page.getByLabel("Kind").selectOption("ingest");
  await expect(organizations).toBeHidden();
  await page.getByLabel("Environment", { exact: true }).fill(env);
  await page.getByRole("button", { name: "Create key" }).click();

  const secret = page.locator(".secret-value");
  await expect(secret).toHaveText(/^vigil_ingest_/);
  const key = (await secret.textContent())!;
  const row = page.locator(`tr[data-key="${name}"]`);
  await expect(row).toContainText("active");
  await expect(row).not.toContainText(key);

  const send = (environment: string) =>
    request.post("/api/v1/events", {
      headers: { Authorization: `Bearer ${key}` },
      data: [{ type: "app.update", environment, actor: { id: "svc" } }],
    });
  expect((await send(env)).status()).toBe(200);
  const elsewhere = await (await send("production")).json();
  expect(elsewhere.rejected[0].field).toBe("environment");

  // Shown once: after a reload only the prefix remains.
  await open(page, "/settings/keys");
  await expect(page.locator(".secret-value")).toHaveCount(0);
  await expect(row).not.toContainText("never");

  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("revoked");
  expect((await send(env)).status()).toBe(401);

  // An export key reads what the ingest key sent.
  await page.getByLabel("Name").fill(`siem-${tag}`);
  await page.getByLabel("Kind").selectOption("export");
  await page.getByLabel("Environments (comma-separated)").fill(env);
  await organizations.fill("*");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(secret).toHaveText(/^vigil_export_/);
  // The form is ready for the next key: empty, an ingest key again, no organizations.
  await expect(page.getByLabel("Name")).toHaveValue("");
  await expect(page.getByLabel("Kind")).toHaveValue("ingest");
  await expect(organizations).toBeHidden();
  const exportKey = (await secret.textContent())!;
  const listed = await request.get(`/api/v1/events?env=${env}`, { headers: { Authorization: `Bearer ${exportKey}` } });
  expect(listed.status()).toBe(200);
  expect((await listed.json()).events).toHaveLength(1);
});

test("revoking a console session signs that browser out on its next request", async ({ page, browser }) => {
  const email = `revoked-${tag}@e2e.example`;
  addUser(email, ["--role", "auditor"]);
  const other = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const theirs = await other.newPage();
  await theirs.goto("/events");
  await signIn(theirs, email);
  await expect(theirs).toHaveURL(/\/events$/);

  await open(page, "/settings/sessions");
  const row = page.locator(`tr[data-console-session="${email}"]`);
  await expect(row).toHaveCount(1);
  await expect(page.locator("tr", { hasText: "this session" })).toHaveCount(1);
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toHaveCount(0);

  await theirs.goto("/sessions");
  await expect(theirs).toHaveURL(/\/login\?next=%2Fsessions/);
  await other.close();

  // The revocation is in Vigil's own audit trail.
  await open(page, `/events?env=vigil&type=console_session.revoke`);
  await expect(page.locator("tbody tr[data-event-id]").first()).toBeVisible();
});

test("an administrator sees the write path catch up after events arrive", async ({ page, request }) => {
  await ingest(request, [{ id: `wp-${tag}`, type: "app.view", environment: `wp-${tag}`, actor: { id: `u-${tag}` } }]);
  await page.goto("/settings/system");
  await expect(page.getByRole("link", { name: "Write path" })).toHaveAttribute("aria-current", "page");
  // The page reads the state again every few seconds: the worker catches up by itself.
  await expect(page.locator("[data-worker]")).toHaveText("caught up", { timeout: 15_000 });
  await expect(page.locator(".write-path")).toContainText("Export lag");
  // When each environment last sent, leading to its events.
  const received = page.locator(`tr[data-environment="wp-${tag}"]`);
  await expect(received).toContainText("UTC");
  await expect(received.getByRole("link", { name: `wp-${tag}` })).toHaveAttribute("href", `/events?env=wp-${tag}`);
  // An event the API refused says why, on the next reading.
  const refused = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${INGEST_KEY}` },
    data: [{ id: `wp-bad-${tag}`, type: "app.view", environment: `wp-${tag}`, occurred_at: "yesterday" }],
  });
  expect(refused.status()).toBe(422);
  const rejection = page.locator("tr[data-rejection]").first();
  await expect(rejection).toContainText("occurred_at", { timeout: 15_000 });
  await expect(rejection).toContainText("operator ingest key");
  await expect(rejection.locator("td").nth(4)).toHaveText("#0");
});

test("an administrator adds a viewer with a scope, then makes them an auditor", async ({ page }) => {
  const email = `scoped-${tag}@e2e.example`;
  await open(page, "/settings");
  // One's own row offers nothing that would lock one out.
  const own = page.locator(`tr[data-user="${ADMIN}"]`);
  await expect(own).toContainText("you");
  await expect(own.getByRole("button", { name: "Disable" })).toHaveCount(0);
  await expect(own.getByRole("button", { name: "Reset password" })).toHaveCount(0);
  await expect(own.getByRole("link", { name: "Change your password" })).toHaveAttribute("href", "/preferences");
  const environments = page.getByLabel("Environments (comma-separated)");
  await expect(environments).toBeVisible();
  // Admins and auditors read everything: their form has no scope to fill.
  await page.getByLabel("Role", { exact: true }).first().selectOption("admin");
  await expect(environments).toBeHidden();
  await page.getByLabel("Role", { exact: true }).first().selectOption("viewer");
  await page.getByLabel("E-mail").fill(email);
  await environments.fill(`prod-${tag}`);
  await page.getByLabel("Organizations (comma-separated)").fill("*");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator(".secret-value")).toBeVisible();

  const row = page.locator(`tr[data-user="${email}"]`);
  await expect(row.locator("[data-scope]")).toHaveText(`environments prod-${tag} · any organization`);
  await expect(row.getByLabel("Environments")).toHaveValue(`prod-${tag}`);
  await row.getByLabel("Role").selectOption("auditor");
  await expect(row.getByLabel("Environments")).toBeHidden();
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row.locator("[data-scope]")).toHaveText("all data");
});

test("an auditor reads the alerts and services but is offered no control the server would refuse", async ({ page, browser, request }) => {
  const env = `aud-${tag}`;
  await ingest(request, [{ type: "app.view", environment: env, actor: { id: "u1" } }]);
  await open(page, `/alerts/new?view=${encodeURIComponent(`env=${env}`)}`);
  await page.getByLabel("Name").fill(`Watched ${tag}`);
  await page.getByRole("button", { name: "Create alert" }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.locator(`tr[data-rule="Watched ${tag}"]`).getByRole("link", { name: "Edit" })).toBeVisible();

  const email = `alerts-auditor-${tag}@e2e.example`;
  addUser(email, ["--role", "auditor"]);
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const theirs = await context.newPage();
  await theirs.goto("/alerts");
  await signIn(theirs, email);
  await expect(theirs).toHaveURL(/\/alerts$/);
  const rule = theirs.locator(`tr[data-rule="Watched ${tag}"]`);
  await expect(rule).toContainText(`any new event matching env=${env}`);
  await expect(theirs.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(theirs.getByRole("link", { name: "New alert" })).toHaveCount(0);
  await expect(rule.getByRole("link", { name: "Edit" })).toHaveCount(0);
  await expect(rule.getByRole("button")).toHaveCount(0);

  await theirs.goto(`/events?env=${env}`);
  await expect(theirs.locator("tbody tr[data-event-id]")).toHaveCount(1);
  await expect(theirs.getByRole("link", { name: "Compare environments" })).toBeVisible();
  await expect(theirs.getByRole("link", { name: "Create alert" })).toHaveCount(0);

  await theirs.goto("/services");
  await expect(theirs.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Services");
  await expect(theirs.getByRole("link", { name: "Manage services" })).toHaveCount(0);

  await theirs.goto("/alerts/new");
  await expect(theirs.getByText("Only administrators can change alert rules.")).toBeVisible();
  await expect(theirs.getByRole("button", { name: "Create alert" })).toHaveCount(0);
  await context.close();
});
