import { expect, test, owner, createKeysDirectly, sameOrigin, signIn } from "./fixtures";

// The dashboard before its code arrives, or in a browser that runs none: pages are server-rendered,
// filters are GET forms, paging is links, one-click changes are forms that post and come back.
// Runs after lifecycle.spec.ts (same organization, one worker): there are more keys than one page.
test.describe("without JavaScript", () => {
test.use({ javaScriptEnabled: false });

test("a person signs in, searches, filters, pages through the keys, disables and revokes one, changes a role, and creates a key", async ({ page, browser }) => {
  await test.step("a wrong password brings the form back, saying so", async () => {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/sign-in\?/);
    await expect(page.getByText("Invalid email or password.")).toBeVisible();
  });

  await test.step("sign in", async () => {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/keys$/);
    await expect(page.getByRole("heading", { name: "API Keys" })).toBeVisible();
  });

  await createKeysDirectly(page, ["No script one", "No script two"], "staging");

  await test.step("search by name, from the search box", async () => {
    await page.reload();
    await page.getByLabel("Search keys").fill("no script");
    await page.getByLabel("Search keys").press("Enter");
    await expect(page).toHaveURL(/q=no(\+|%20)script/);
    await expect(page.getByRole("link", { name: "No script one", exact: true })).toBeVisible();
    await expect(page.getByRole("link", { name: "No script two", exact: true })).toBeVisible();
    await expect(page.getByRole("status").filter({ hasText: /^1–2 of 2$/ })).toBeVisible();
  });

  await test.step("filter by environment, applied by the form", async () => {
    await page.getByRole("search").getByLabel("Environment").selectOption("production");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/env=production/);
    await expect(page.getByText("No keys match this search and these filters.")).toBeVisible();
    await page.getByRole("search").getByLabel("Environment").selectOption("staging");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page.getByRole("link", { name: "No script two", exact: true })).toBeVisible();
  });

  await test.step("page through every key with the links", async () => {
    await page.goto("/keys");
    await expect(page.getByRole("status").filter({ hasText: /^1–25 of \d+$/ })).toBeVisible();
    await page.getByRole("link", { name: "Next" }).click();
    await expect(page).toHaveURL(/page=2/);
    await expect(page.getByRole("status").filter({ hasText: /^26–\d+ of \d+$/ })).toBeVisible();
    await page.getByRole("link", { name: "Previous" }).click();
    await expect(page.getByRole("status").filter({ hasText: /^1–25 of \d+$/ })).toBeVisible();
  });

  await test.step("show 10 keys per page, keeping the sort", async () => {
    await page.goto("/keys?sort=name");
    await page.getByLabel("Per page").selectOption("10");
    await page.getByRole("button", { name: "Show" }).click();
    await expect(page).toHaveURL(/\/keys\?sort=name&per_page=10$/);
    await expect(page.getByRole("status").filter({ hasText: /^1–10 of \d+$/ })).toBeVisible();
    await expect(page.getByLabel("Sort")).toHaveValue("name");
  });

  await test.step("disable a key, and enable it again, with the forms on its page", async () => {
    await page.goto("/keys?q=no+script+one");
    await page.getByRole("link", { name: "No script one", exact: true }).click();
    await expect(page.getByRole("heading", { name: "No script one" })).toBeVisible();
    await page.getByRole("button", { name: "Disable" }).click();
    // Back on the key's page (the server sends the browser back where the form was).
    await expect(page).toHaveURL(/\/keys\/[0-9a-f-]{36}\??$/);
    await expect(page.getByRole("button", { name: "Enable" })).toBeVisible();
    await page.getByRole("button", { name: "Enable" }).click();
    await expect(page.getByRole("button", { name: "Disable" })).toBeVisible();
  });

  await test.step("revoke a key from its page, through its confirmation dialog", async () => {
    await page.goto("/keys?q=no+script+two");
    await page.getByRole("link", { name: "No script two", exact: true }).click();
    await expect(page.getByRole("heading", { name: "No script two" })).toBeVisible();
    // The browser opens the dialog itself (an invoker command): no script runs here.
    await page.getByRole("button", { name: "Revoke", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke API key" });
    await expect(dialog).toBeVisible();
    await dialog.getByRole("button", { name: "Revoke key" }).click();
    await expect(page).toHaveURL(/\/keys\/[0-9a-f-]{36}\??$/);
    await expect(page.getByRole("button", { name: "Revoke", exact: true })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Delete permanently" })).toBeVisible();
  });

  await test.step("change a member's role with the form in their row", async () => {
    // A member to change: invited and joined through the server functions, as scripts would.
    const invited = await page.request.post("/api/invite_member", { headers: sameOrigin(page),
      form: { email: "no.script@acme.test", role: "developer" } });
    expect(invited.ok(), await invited.text()).toBe(true);
    const { token } = await invited.json();
    const theirs = await browser.newContext();
    const joined = await theirs.request.post("/api/accept_invitation", { headers: sameOrigin(page),
      form: { token, name: "No Script", password: "a long enough password" } });
    expect(joined.ok(), await joined.text()).toBe(true);
    await theirs.close();

    await page.goto("/members");
    const row = page.getByRole("row").filter({ hasText: "no.script@acme.test" });
    await expect(row.getByLabel("Role of No Script", { exact: true })).toHaveValue("developer");
    await row.getByLabel("Role of No Script", { exact: true }).selectOption({ label: "Viewer" });
    await row.getByRole("button", { name: "Change role of No Script" }).click();
    await expect(page).toHaveURL(/\/members\??$/);
    await expect(page.getByRole("row").filter({ hasText: "no.script@acme.test" }).getByLabel("Role of No Script", { exact: true }))
      .toHaveValue("viewer");
  });

  await test.step("create a key through its dialog, and see its token once", async () => {
    await page.goto("/keys");
    // The browser opens the dialog itself (an invoker command); the form posts to /keys/new.
    await page.getByRole("button", { name: "Create API Key" }).click();
    const form = page.getByRole("dialog", { name: "Create API Key" });
    await expect(form).toBeVisible();
    await form.getByLabel("Name", { exact: true }).fill("Scriptless worker");
    await form.getByLabel("Environment").selectOption("staging");
    // The Read-only preset's 7 scopes, and one more: the boxes themselves are sent.
    await form.getByRole("checkbox", { name: /api_keys\.rotate/ }).check();
    // A rate limit and a date: their fields are open without the page's code.
    await form.getByLabel("Rate limit", { exact: true }).selectOption("minute");
    await form.getByLabel("Requests", { exact: true }).fill("120");
    await form.getByLabel("Expiration", { exact: true }).selectOption("date");
    await form.getByLabel("Expires on", { exact: true }).fill("2030-01-31");
    await form.getByRole("button", { name: "Create key" }).click();
    await expect(page).toHaveURL(/\/keys\/new$/);
    const reveal = page.getByRole("dialog", { name: "Save your API key" });
    await expect(reveal).toBeVisible();
    await expect(page.getByRole("dialog", { name: "Create API Key" })).toBeHidden();
    const token = (await reveal.getByLabel("API key").textContent())?.trim() ?? "";
    expect(token).toMatch(/^kw_stage_[A-Za-z0-9]{38}$/);
    const row = page.getByRole("row").filter({ hasText: "Scriptless worker" });
    await expect(row).toContainText("8 scopes");
    await expect(row).toContainText("120 / minute");
    await expect(row).toContainText("2030-01-31");
    await reveal.getByRole("button", { name: "I have saved it" }).click();
    await expect(reveal).toBeHidden();
    // Once: the list, loaded again, has the key and not its token.
    await page.goto("/keys?q=scriptless");
    await expect(page.getByRole("link", { name: "Scriptless worker", exact: true })).toBeVisible();
    await expect(page.getByText(token)).toHaveCount(0);
  });

  await test.step("a refused create comes back with the form open and the reason", async () => {
    await page.goto("/keys");
    await page.getByRole("button", { name: "Create API Key" }).click();
    const form = page.getByRole("dialog", { name: "Create API Key" });
    await form.getByLabel("Name", { exact: true }).fill("   ");
    await form.getByRole("button", { name: "Create key" }).click();
    const again = page.getByRole("dialog", { name: "Create API Key" });
    await expect(again).toBeVisible();
    await expect(again.getByRole("alert")).toHaveText("Fix the field marked above.");
    await expect(again.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
    await expect(again.getByText("Name is required.")).toBeVisible();
    await expect(page.getByRole("dialog", { name: "Save your API key" })).toBeHidden();
  });
});
});

test("hydrated, the same toolbar applies each filter as it changes", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  await page.getByLabel("Search keys").fill("no script");
  await expect(page).toHaveURL(/q=no(\+|%20)script/);
  await expect(page.getByRole("status").filter({ hasText: /^1–2 of 2$/ })).toBeVisible();
  await page.getByRole("search").getByLabel("Environment").selectOption("production");
  await expect(page).toHaveURL(/env=production/);
  await expect(page.getByText("No keys match this search and these filters.")).toBeVisible();
});

test("hydrated, /keys/new opens the create form, whose key's token is shown once", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await page.goto("/keys/new");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const form = page.getByRole("dialog", { name: "Create API Key" });
  await expect(form).toBeVisible();
  await form.getByLabel("Name", { exact: true }).fill("Hydrated worker");
  await form.getByRole("button", { name: "Create key" }).click();
  await expect(form).toBeHidden();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  await expect(reveal.getByLabel("API key")).toHaveText(/^kw_live_/);
  await reveal.getByRole("button", { name: "I have saved it" }).click();
  await expect(reveal).toBeHidden();
  // The form opens again empty.
  await page.getByRole("button", { name: "Create API Key" }).click();
  await expect(form.getByLabel("Name", { exact: true })).toHaveValue("");
});

test("the signed-in frame stays as a person moves between pages", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  // A mark on the header the server rendered: a frame made again would not carry it.
  const header = page.getByRole("banner");
  await header.evaluate((element) => element.setAttribute("data-marked", "on the keys page"));
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const [link, heading] of [["Members", "Members"], ["Projects", "Projects"], ["Audit log", "Audit log"], ["API Keys", "API Keys"]]) {
    await nav.getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await expect(header).toHaveAttribute("data-marked", "on the keys page");
  }
  await expect(header.getByRole("link", { name: owner.name })).toBeVisible();
});
