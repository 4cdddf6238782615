import type { Page } from "@playwright/test";
import { expect, test, createKeysDirectly, postCreateKey, signIn, TOKEN } from "./fixtures";

// Runs after keys.spec.ts (same organization, one worker): it starts with one revoked key.

async function createInDialog(page: Page, name: string, fill: (dialog: ReturnType<Page["getByRole"]>) => Promise<void>) {
  await page.getByRole("button", { name: "Create API Key" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Create API Key" });
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  await fill(dialog);
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  const token = (await reveal.getByLabel("API key").textContent()) ?? "";
  expect(token).toMatch(TOKEN);
  await reveal.getByRole("button", { name: "I have saved it" }).click();
  await expect(reveal).toBeHidden();
  return token;
}

const row = (page: Page, name: string) => page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });

test("the plan limit stops creates and an upgrade lifts it", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await createKeysDirectly(page, ["limit 1", "limit 2", "limit 3"]);
  await page.reload();
  const create = page.getByRole("button", { name: "Create API Key" }).first();
  await expect(create).toBeDisabled();
  await expect(page.getByRole("note")).toContainText("Your plan allows 3 active keys");
  // The server refuses too, with 409 and the typed error; bad input is a 422 naming the field.
  const overLimit = await postCreateKey(page, "one too many");
  expect(overLimit.status()).toBe(409);
  expect(await overLimit.json()).toEqual({ PlanLimitReached: { plan: "Free", limit: 3 } });
  const blank = await postCreateKey(page, "   ");
  expect(blank.status()).toBe(422);
  expect(await blank.json()).toEqual({ Invalid: [{ field: "name", reason: "is required" }] });

  await page.getByRole("link", { name: "Upgrade your plan" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByText("3 of 3 keys")).toBeVisible();
  await page.getByRole("radio", { name: /Free/ }).check();
  await page.getByRole("button", { name: "Save plan" }).click();
  // Free is the current plan: saving it again is allowed; a smaller plan than the keys in use is not.
  await page.getByRole("radio", { name: /Enterprise/ }).check();
  await page.getByRole("button", { name: "Save plan" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Plan changed to Enterprise." })).toBeVisible();

  await page.getByRole("link", { name: "API Keys" }).click();
  await expect(page.getByRole("button", { name: "Create API Key" }).first()).toBeEnabled();
});

test("keys are created with presets and custom scopes, edited, disabled, rotated, revoked and deleted", async ({ page, context, baseURL }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);

  await test.step("a read-only preset", async () => {
    await createInDialog(page, "Reporting", async (dialog) => {
      // The dialog opens on the Read-only preset (least privilege), and its checkboxes say so.
      await expect(dialog.getByRole("button", { name: "Read-only" })).toHaveAttribute("aria-pressed", "true");
      await expect(dialog.getByRole("checkbox", { name: /api_keys\.read/ })).toBeChecked();
      await expect(dialog.getByRole("checkbox", { name: /api_keys\.create/ })).not.toBeChecked();
      // Another preset, and back.
      await dialog.getByRole("button", { name: "Workspace" }).click();
      await expect(dialog.getByRole("checkbox", { name: /api_keys\.create/ })).toBeChecked();
      await dialog.getByRole("button", { name: "Read-only" }).click();
      await expect(dialog.getByRole("checkbox", { name: /api_keys\.create/ })).not.toBeChecked();
    });
    await expect(row(page, "Reporting")).toContainText("Read-only");
  });

  await test.step("custom scopes, a rate limit and an expiry", async () => {
    await createInDialog(page, "Telemetry ingest", async (dialog) => {
      await dialog.getByRole("button", { name: "Read-only" }).click();
      await dialog.getByRole("checkbox", { name: /api_keys\.verify/ }).check();
      await dialog.getByLabel("Custom scopes for your API").fill("telemetry.write, telemetry.read");
      await dialog.getByLabel("Rate limit", { exact: true }).selectOption("minute");
      await dialog.getByLabel("Requests", { exact: true }).fill("120");
      await dialog.getByLabel("Expiration", { exact: true }).selectOption("30");
    });
    const telemetry = row(page, "Telemetry ingest");
    await expect(telemetry).toContainText("120 / minute");
    // Read-only has 7 scopes; with api_keys.verify and two custom ones that is 10.
    await expect(telemetry).toContainText("10 scopes");
    const in30Days = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await expect(telemetry).toContainText(in30Days);
  });

  await test.step("a bad custom scope is refused inside the dialog", async () => {
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create API Key" });
    await dialog.getByLabel("Name", { exact: true }).fill("Broken");
    await dialog.getByLabel("Custom scopes for your API").fill("Not A Scope");
    await dialog.getByRole("button", { name: "Create key" }).click();
    await expect(dialog.getByRole("alert")).toHaveText("Fix the field marked above.");
    await expect(dialog.getByLabel("Custom scopes for your API")).toHaveAccessibleDescription(/is not a valid scope/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("link", { name: "Broken", exact: true })).toHaveCount(0);
  });

  await test.step("the details page edits scopes", async () => {
    await page.getByRole("link", { name: "Telemetry ingest", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Telemetry ingest", level: 1 })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Scopes (10 scopes)" })).toBeVisible();
    await page.getByRole("button", { name: "Edit scopes" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit scopes" });
    await dialog.getByRole("checkbox", { name: /audit\.read/ }).uncheck();
    await dialog.getByRole("button", { name: "Save scopes" }).click();
    await expect(page.getByRole("status").filter({ hasText: 'Scopes of "Telemetry ingest" saved.' })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Scopes (9 scopes)" })).toBeVisible();
    await expect(page.getByRole("listitem").filter({ hasText: "audit.read" })).toHaveCount(0);
  });

  await test.step("disable (a production key: asked first) and enable", async () => {
    await page.getByRole("button", { name: "Disable" }).click();
    const confirm = page.getByRole("dialog", { name: "Disable production key" });
    await expect(confirm).toContainText("every request that uses it will be refused");
    await confirm.getByRole("button", { name: "Disable key" }).click();
    await expect(confirm).toBeHidden();
    await expect(page.locator(".page-header")).toContainText("Disabled");
    await page.getByRole("button", { name: "Enable" }).click();
    await expect(page.locator(".page-header")).toContainText("Active");
  });

  let rotated = "";
  await test.step("rotation shows the new token once and keeps the old one for the grace period", async () => {
    const before = (await page.locator(".properties code").first().textContent()) ?? "";
    await page.getByRole("button", { name: "Rotate" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate API key" });
    await dialog.getByLabel("Keep the old secret working for").selectOption("24h");
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    const reveal = page.getByRole("dialog", { name: "Save your API key" });
    rotated = (await reveal.getByLabel("API key").textContent()) ?? "";
    expect(rotated).toMatch(TOKEN);
    await reveal.getByRole("button", { name: "I have saved it" }).click();
    await expect(page.getByText("The previous secret works until")).toBeVisible();
    const history = page.getByRole("table");
    await expect(history).toContainText("Ada Lovelace");
    await expect(page.locator(".properties code").first()).not.toHaveText(before);
    expect(await page.content()).not.toContain(rotated);
  });

  await test.step("revoke, then delete with a typed confirmation", async () => {
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog", { name: "Revoke API key" }).getByRole("button", { name: "Revoke key" }).click();
    await expect(page.locator(".page-header")).toContainText("Revoked");
    await expect(page.getByRole("button", { name: "Rotate" })).toHaveCount(0);
    // Who revoked it, and when (just now: the exact minute on hover).
    const revoked = page.getByRole("note").filter({ hasText: /^Revoked by/ });
    await expect(revoked).toContainText("Revoked by Ada Lovelace, just now.");
    await expect(revoked.locator("time")).toHaveAttribute("title", /UTC$/);

    // Deleting is apart, in the danger zone, and not the loudest button on the page.
    const danger = page.getByRole("region", { name: "Danger zone" });
    await expect(page.getByRole("group", { name: "Key actions" }).getByRole("button", { name: "Delete permanently" })).toHaveCount(0);
    await danger.getByRole("button", { name: "Delete permanently" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete API key" });
    const confirm = dialog.getByRole("button", { name: "Delete key" });
    await expect(confirm).toBeDisabled();
    await dialog.getByLabel('Type "Telemetry ingest" to confirm').fill("Telemetry");
    await expect(confirm).toBeDisabled();
    await dialog.getByLabel('Type "Telemetry ingest" to confirm').fill("Telemetry ingest");
    await confirm.click();
    await expect(page).toHaveURL(/\/keys$/);
    await expect(page.getByRole("link", { name: "Telemetry ingest", exact: true })).toHaveCount(0);
    // Deleted keys still count in "Total keys": 1 + 3 + 2 created so far.
    await expect(page.locator(".stat").filter({ hasText: "Total keys" })).toContainText("6");
  });
});

test("search, filters and pagination live in the URL", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const batch = Array.from({ length: 30 }, (_, i) => `batch ${String(i).padStart(2, "0")}`);
  await createKeysDirectly(page, batch.slice(0, 15), "staging");
  await createKeysDirectly(page, batch.slice(15), "development");
  await page.reload();
  // Typing searches as you type only once the page's code runs (before, the form's Enter does).
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

  await test.step("search as you type, and clear", async () => {
    await page.getByLabel("Search keys").fill("batch 1");
    await expect(page).toHaveURL(/q=batch(\+|%20)1/);
    await expect(page.getByRole("link", { name: /^batch 1\d$/ })).toHaveCount(10);
    await page.getByRole("button", { name: "Clear search" }).click();
    await expect(page).not.toHaveURL(/q=/);
  });

  await test.step("filter by environment and status, hide revoked", async () => {
    await page.getByRole("search").getByLabel("Environment").selectOption("staging");
    await expect(page).toHaveURL(/env=staging/);
    await expect(page.getByRole("status").filter({ hasText: "of 15" })).toBeVisible();
    await page.getByRole("search").getByLabel("Environment").selectOption("");
    await page.getByLabel("Status").selectOption("revoked");
    await expect(page.getByRole("link", { name: "Production backend", exact: true })).toBeVisible();
    await expect(page.getByRole("link", { name: "batch 00", exact: true })).toHaveCount(0);
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Hide revoked").check();
    await expect(page).toHaveURL(/hide_revoked=1/);
    await expect(page.getByRole("link", { name: "Production backend", exact: true })).toHaveCount(0);
    await page.getByLabel("Hide revoked").uncheck();
  });

  await test.step("page through, and a reload keeps the page", async () => {
    await page.getByLabel("Per page").selectOption("10");
    await expect(page.getByRole("status").filter({ hasText: /^1–10 of \d+$/ })).toBeVisible();
    await expect(page.getByRole("link", { name: "batch 29", exact: true })).toBeVisible();
    await page.getByRole("link", { name: "Next" }).click();
    await expect(page).toHaveURL(/page=2/);
    await expect(page.getByRole("status").filter({ hasText: /^11–20 of \d+$/ })).toBeVisible();
    await expect(page.getByRole("link", { name: "batch 19", exact: true })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("status").filter({ hasText: /^11–20 of \d+$/ })).toBeVisible();
    await expect(page.getByLabel("Per page")).toHaveValue("10");
    await page.getByLabel("Sort").selectOption("name");
    await expect(page).toHaveURL(/sort=name/);
    await expect(page).not.toHaveURL(/page=2/);
    await expect(page.getByRole("row").nth(1)).toContainText("batch 00");
  });
});

test("the keys table fits a 1280-pixel screen with its main columns, adds others on request, and is one card per key on a phone", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys/);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const table = page.getByRole("table", { name: "API keys" });
  const pageFits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  const header = (name: string) => table.getByRole("columnheader", { name, exact: true });
  const main = ["Name", "Key", "Environment", "Status", "Last used"];
  const optional = ["Project", "Scopes", "Rate limit", "Expires", "Created by", "Created"];

  await page.setViewportSize({ width: 1280, height: 800 });
  for (const name of main) await expect(header(name), name).toBeVisible();
  for (const name of optional) await expect(header(name), name).toBeHidden();
  expect(await pageFits(), "the page scrolls sideways at 1280 px").toBe(true);
  await expect(table.getByRole("button", { name: /^Actions for / }).first()).toBeInViewport();

  // Turned on, and still on after a reload (kept by this browser).
  await page.getByText("Columns", { exact: true }).click();
  await page.getByRole("checkbox", { name: "Project" }).check();
  await page.getByRole("checkbox", { name: "Created", exact: true }).check();
  await expect(header("Project")).toBeVisible();
  await expect(header("Created")).toBeVisible();
  await page.reload();
  await expect(header("Project")).toBeVisible();
  await expect(header("Scopes")).toBeHidden();
  expect(await pageFits(), "the page scrolls sideways at 1280 px with two more columns").toBe(true);

  // A phone: a card per key, with its name, status and menu, and nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const first = table.getByRole("row").nth(1);
  await expect(first.getByRole("link").first()).toBeInViewport();
  await expect(first.getByRole("button", { name: /^Actions for / })).toBeInViewport();
  expect(await pageFits(), "the page scrolls sideways at 390 px").toBe(true);
});
