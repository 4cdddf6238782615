import { expect, test, owner, signIn, TOKEN } from "./fixtures";

test("a new organization sets up Keyward, creates, copies and revokes a key", async ({ page, context, baseURL }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });

  await test.step("the first visit leads to setup", async () => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/setup$/);
    await expect(page.getByRole("heading", { name: "Welcome to Keyward" })).toBeVisible();
  });

  await test.step("bad input is refused with the field's reason", async () => {
    await page.getByLabel("Organization name").fill("Acme");
    await page.getByLabel("Your name").fill(owner.name);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill("   spaces   ");
    await page.getByLabel("Organization name").fill("   ");
    await page.getByRole("button", { name: "Create organization" }).click();
    await expect(page.getByRole("alert")).toHaveText("Fix the field marked above.");
    await expect(page.getByLabel("Organization name")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Organization name")).toHaveAccessibleDescription("Organization is required.");
  });

  await test.step("setup signs the owner in and lands on an empty API Keys page", async () => {
    await page.getByLabel("Organization name").fill(owner.organization);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Create organization" }).click();
    await expect(page).toHaveURL(/\/keys$/);
    await expect(page.getByRole("heading", { name: "API Keys", level: 1 })).toBeVisible();
    await expect(page.getByRole("heading", { name: "No API keys yet" })).toBeVisible();
    await expect(page.getByRole("banner")).toContainText(owner.organization);
    // A quickstart, one Create button, and nothing to filter yet.
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
    await expect(page.getByRole("button", { name: "Create API Key" })).toHaveCount(1);
    await expect(page.getByRole("search")).toHaveCount(0);
    const steps = page.getByRole("listitem").filter({ hasText: /verifier key|Create a key|Verify it/ });
    await expect(steps).toHaveCount(3);
    await expect(steps.nth(2)).toContainText(`curl -s ${new URL(page.url()).origin}/api/v1/keys/verify`);
  });

  await test.step("the session cookie is HttpOnly and SameSite=Lax", async () => {
    const cookie = (await context.cookies()).find((c) => c.name === "kw_session");
    expect(cookie).toBeDefined();
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Lax");
    expect(await page.evaluate(() => document.cookie)).not.toContain("kw_session");
  });

  await test.step("a blank name is refused inside the dialog", async () => {
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create API Key" });
    await expect(dialog).toBeVisible();
    await dialog.getByLabel("Name", { exact: true }).fill("   ");
    await dialog.getByRole("button", { name: "Create key" }).click();
    await expect(dialog.getByRole("alert")).toHaveText("Fix the field marked above.");
    await expect(dialog.getByLabel("Name", { exact: true })).toHaveAccessibleDescription(/Name is required\./);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
  });

  let token = "";
  await test.step("creating a key shows its token once, with a Copy button", async () => {
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create API Key" });
    await expect(dialog.getByRole("alert")).toHaveCount(0);
    await dialog.getByLabel("Name", { exact: true }).fill("  Production backend  ");
    await dialog.getByLabel("Description (optional)").fill("Calls from the order service");
    await expect(dialog.getByLabel("Project", { exact: true })).toHaveValue(/.+/);
    await dialog.getByLabel("Environment", { exact: true }).selectOption({ label: "Production" });
    await dialog.getByRole("button", { name: "Create key" }).click();

    const reveal = page.getByRole("dialog", { name: "Save your API key" });
    await expect(reveal).toBeVisible();
    await expect(reveal).toContainText("This key will not be shown again.");
    token = (await reveal.getByLabel("API key").textContent()) ?? "";
    expect(token).toMatch(TOKEN);

    await reveal.getByRole("button", { name: "Copy", exact: true }).click();
    await expect(reveal.getByRole("button", { name: "Copied!", exact: true })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    // "Copied!" turns back into "Copy" after two seconds.
    await expect(reveal.getByRole("button", { name: "Copy", exact: true })).toBeVisible({ timeout: 5_000 });

    await reveal.getByRole("button", { name: "I have saved it" }).click();
    await expect(reveal).toBeHidden();
    await expect(page.getByRole("status").filter({ hasText: 'API key "Production backend" created.' })).toBeVisible();
  });

  const prefix = () => token.slice(0, "kw_live_".length + 8);

  await test.step("the table lists the key by its prefix, never its token", async () => {
    const row = page.getByRole("row", { name: /Production backend/ });
    await expect(row).toContainText(prefix());
    await expect(row).toContainText("Default");
    await expect(row).toContainText("Production");
    await expect(row).toContainText("Active");
    await expect(row).toContainText(owner.name);
    // Created with the dialog's suggested expiry: 90 days.
    await expect(row).toContainText(new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10));
    expect(await page.content()).not.toContain(token);
  });

  await test.step("after a reload the key is still there, in the server-rendered HTML too", async () => {
    await page.reload();
    await expect(page.getByRole("row", { name: /Production backend/ })).toContainText(prefix());
    const html = await (await page.request.get("/keys")).text();
    expect(html).toContain("Production backend");
    expect(html).toContain(prefix());
    expect(html).not.toContain(token);
  });

  await test.step("revoking asks first, then marks the key revoked and keeps it listed", async () => {
    await page.getByRole("button", { name: "Actions for Production backend" }).click();
    await page.getByRole("button", { name: "Revoke Production backend" }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke API key" });
    await expect(confirm).toContainText("cannot be undone");
    await confirm.getByRole("button", { name: "Revoke key" }).click();
    await expect(confirm).toBeHidden();
    const row = page.getByRole("row", { name: /Production backend/ });
    await expect(row).toContainText("Revoked");
    await expect(row.getByRole("button", { name: /Revoke/ })).toHaveCount(0);
    await expect(page.getByRole("status").filter({ hasText: 'API key "Production backend" revoked.' })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("row", { name: /Production backend/ })).toContainText("Revoked");
  });

  await test.step("signing out and back in", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/keys");
    await expect(page).toHaveURL(/\/sign-in$/);

    await signIn(page, "not the password");
    await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
    await expect(page).toHaveURL(/\/sign-in$/);

    await signIn(page);
    await expect(page).toHaveURL(/\/keys$/);
    await expect(page.getByRole("row", { name: /Production backend/ })).toContainText("Revoked");
  });
});

test("a page that needs a session sends a stranger to sign in", async ({ page }) => {
  // A browser's navigation (it accepts text/html) gets a real redirect before any HTML.
  const response = await page.request.get("/keys", { maxRedirects: 0, headers: { Accept: "text/html" } });
  expect(response.status()).toBe(302);
  expect(response.headers()["location"]).toBe("/sign-in");
  await page.goto("/keys");
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole("heading", { name: "Sign in to Keyward" })).toBeVisible();
});
