import { expect, test, owner, signIn } from "./fixtures";

// Runs last (same organization, one worker): it changes the owner's password and sessions.

test("projects are created with their own scopes, offered when creating a key, and archived", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
  await expect(page.getByRole("heading", { name: "Projects", level: 1 })).toBeVisible();

  await page.getByLabel("Project name").fill("default");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("alert")).toHaveText("Fix the field marked above.");
  await expect(page.getByLabel("Project name")).toHaveAccessibleDescription("Name is already used by another project.");
  await page.getByLabel("Project name").fill("Billing API");
  await page.getByRole("button", { name: "Create project" }).click();
  const billing = page.getByRole("region", { name: "Billing API" });
  await expect(billing).toContainText("0 live keys");

  await billing.getByLabel("Scope").fill("invoices.read");
  await billing.getByLabel("Description").fill("Read invoices");
  await billing.getByRole("button", { name: "Add scope" }).click();
  await expect(billing.getByRole("listitem").filter({ hasText: "invoices.read" })).toContainText("Read invoices");

  await test.step("a key of the project picks from its scopes", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API Keys" }).click();
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create API Key" });
    await dialog.getByLabel("Name", { exact: true }).fill("Invoice reader");
    // The Default project offers the custom scopes its keys were given by the earlier specs.
    const defined = dialog.getByRole("group", { name: "Defined in this project" });
    await expect(defined.getByRole("checkbox", { name: /telemetry\.write/ })).toBeVisible();
    await expect(defined.getByRole("checkbox", { name: /invoices\.read/ })).toHaveCount(0);
    await dialog.getByLabel("Project", { exact: true }).selectOption({ label: "Billing API" });
    await expect(defined.getByRole("checkbox", { name: /telemetry\.write/ })).toHaveCount(0);
    await defined.getByRole("checkbox", { name: /invoices\.read/ }).check();
    await expect(dialog.getByLabel("Custom scopes for your API")).toHaveValue(/invoices\.read/);
    await dialog.getByRole("button", { name: "Create key" }).click();
    const reveal = page.getByRole("dialog", { name: "Save your API key" });
    await reveal.getByRole("button", { name: "I have saved it" }).click();
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "Invoice reader", exact: true }) });
    await expect(row).toContainText("Billing API");
  });

  await test.step("an archived project takes no new keys and leaves the pickers", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
    await expect(billing).toContainText("1 live key");
    await billing.getByRole("button", { name: "Archive Billing API" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Project archived" })).toBeVisible();
    await expect(billing).toContainText("Archived");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API Keys" }).click();
    await page.getByRole("button", { name: "Create API Key" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create API Key" });
    await expect(dialog.getByLabel("Project", { exact: true }).getByRole("option", { name: "Billing API" })).toHaveCount(0);
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });
});

test("a person founds a second organization, switches between them, ends their other sessions and changes password", async ({ page, browser }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  // A second browser, signed in as the same person.
  const laptopContext = await browser.newContext();
  const laptop = await laptopContext.newPage();
  await signIn(laptop);
  await expect(laptop).toHaveURL(/\/keys$/);

  await page.getByRole("link", { name: owner.name }).click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();

  await test.step("a new organization, then back to the first through the header's switcher", async () => {
    await page.getByLabel("New organization").fill("Ada's Lab");
    await page.getByRole("button", { name: "Create organization" }).click();
    await expect(page).toHaveURL(/\/keys$/);
    const switcher = page.getByLabel("Organization", { exact: true });
    await expect(switcher).toHaveValue(/.+/);
    await expect(switcher.locator("option:checked")).toHaveText("Ada's Lab · Owner");
    await expect(page.getByText("No API keys yet")).toBeVisible();

    // Choosing is switching: no button to forget.
    await expect(page.getByRole("button", { name: "Switch" })).toBeHidden();
    await switcher.selectOption({ label: `${owner.organization} · Owner` });
    await expect(page.getByLabel("Organization", { exact: true }).locator("option:checked")).toHaveText(
      `${owner.organization} · Owner`,
    );
    // The first organization's keys are back (made by the earlier specs).
    await expect(page.getByRole("link", { name: "Audited", exact: true })).toBeVisible();
  });

  await test.step("sessions are listed, and the others end at once", async () => {
    await page.getByRole("link", { name: owner.name }).click();
    const sessions = page.getByRole("table", { name: "Sessions" });
    await expect(sessions.getByRole("row").filter({ hasText: "This session" })).toContainText("Chrome on Linux");
    await expect(sessions.getByRole("row")).not.toHaveCount(2);
    await page.getByRole("button", { name: "Sign out all other sessions" }).click();
    await expect(page.getByRole("status").filter({ hasText: /Signed out of \d+ other sessions?\./ })).toBeVisible();
    await expect(sessions.getByRole("row")).toHaveCount(2);
    // The laptop's next request is signed out.
    await laptop.reload();
    await expect(laptop).toHaveURL(/\/sign-in$/);
  });

  await test.step("a password change checks the current one, and ends the other sessions", async () => {
    await signIn(laptop);
    await expect(laptop).toHaveURL(/\/keys$/);
    await page.getByLabel("Current password").fill("not my password at all");
    await page.getByLabel("New password").fill("an even better passphrase");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByRole("alert")).toHaveText("Fix the field marked above.");
    await expect(page.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Current password")).toHaveAccessibleDescription("That is not your current password.");

    await page.getByLabel("Current password").fill(owner.password);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(
      page.getByRole("status").filter({ hasText: "Password changed. Your 1 other session was signed out." }),
    ).toBeVisible();
    await expect(page.getByLabel("Current password")).toHaveValue("");
    await laptop.reload();
    await expect(laptop).toHaveURL(/\/sign-in$/);
    await signIn(laptop, "an even better passphrase");
    await expect(laptop).toHaveURL(/\/keys$/);

    // And back, for the specs that run after this one.
    await laptop.goto("/account");
    await laptop.getByLabel("Current password").fill("an even better passphrase");
    await laptop.getByLabel("New password").fill(owner.password);
    await laptop.getByRole("button", { name: "Change password" }).click();
    await expect(laptop.getByRole("status").filter({ hasText: /^Password changed\./ })).toBeVisible();
  });
  await laptopContext.close();
});
