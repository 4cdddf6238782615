import * as fs from "node:fs";
import { expect, test, createKeysDirectly, owner, signIn, sameOrigin } from "./fixtures";

// Runs after lifecycle.spec.ts (same organization, one worker): the plan was changed there.

test("every change is in the audit log, filtered in the URL and exported as CSV", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await createKeysDirectly(page, ["Audited"]);
  await page.reload();
  await page.getByRole("link", { name: "Audited", exact: true }).click();
  await page.getByRole("button", { name: "Disable" }).click();
  await expect(page.getByRole("button", { name: "Enable" })).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  const newest = page.getByRole("row").nth(1);
  await expect(newest).toContainText("Key disabled");
  await expect(newest).toContainText(owner.name);
  await expect(newest).toContainText(/Key Audited \(kw_dev_/);
  await expect(newest).toContainText("Status: active → disabled");
  await expect(newest).toContainText("127.0.0.1");

  await test.step("filters live in the URL", async () => {
    // A filter applies as it changes, and the URL names only the filters set.
    await expect(page.getByRole("button", { name: "Apply filters" })).toBeHidden();
    await page.getByLabel("Action").selectOption({ label: "Key disabled" });
    await expect(page).toHaveURL(/\/audit\?action=key\.disabled$/);
    const rows = page.getByRole("row");
    // The header and the disabled keys only (lifecycle.spec.ts disabled one too).
    await expect(rows.filter({ hasText: "Key disabled" })).not.toHaveCount(0);
    await expect(rows.filter({ hasText: "Key created" })).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole("row").nth(1)).toContainText("Key disabled");
    await expect(page.getByLabel("Action")).toHaveValue("key.disabled");

    // Following a key's link shows everything done to it.
    await page.getByRole("link", { name: /Key Audited/ }).first().click();
    await expect(page).toHaveURL(/\/audit\?key=/);
    // The filter names the key, not its id, and lets it go.
    await expect(page.getByLabel("Filter the audit log")).toContainText("Key Audited");
    await expect(page.getByRole("link", { name: "Stop filtering on Audited" })).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: "Key created" })).toHaveCount(1);
    await expect(page.getByRole("row").filter({ hasText: "Key disabled" })).toHaveCount(1);
  });

  await test.step("the CSV holds what the filters show", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Export CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("keyward-audit.csv");
    const csv = fs.readFileSync((await download.path()) as string, "utf8").trim().split("\n");
    expect(csv[0]).toBe("time,actor,actor_user_id,actor_key_id,action,target,target_id,before,after,ip");
    expect(csv).toHaveLength(3);
    expect(csv[1]).toContain("key.disabled");
    expect(csv[2]).toContain("key.created");
  });

  await test.step("the plan change made by lifecycle.spec.ts is there too", async () => {
    await page.goto("/audit?action=organization.plan_changed");
    await expect(page.getByRole("row").filter({ hasText: "Plan changed" }).first()).toContainText("Plan: free → enterprise");
  });

  await test.step("a backwards date range is refused, naming the field", async () => {
    await page.goto("/audit?from=2026-11-20&to=2026-11-10");
    await expect(page.getByRole("alert")).toContainText("To must not be before the start date");
    // Each end of a range bounds the other in the date pickers, so that a backwards one is hard to pick.
    await page.goto("/audit?from=2026-11-10&to=2026-11-20");
    await expect(page.getByLabel("To", { exact: true })).toHaveAttribute("min", "2026-11-10");
    await expect(page.getByLabel("From", { exact: true })).toHaveAttribute("max", "2026-11-20");
  });
});

test("an invited developer joins, creates a key, cannot revoke another's, and the log shows it all", async ({ page, browser }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await createKeysDirectly(page, ["Owner's key"]);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  await page.getByRole("button", { name: "Invite member" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite member" });
  await dialog.getByLabel("Email").fill("grace@acme.test");
  await dialog.getByLabel("Role").selectOption({ label: "Developer" });
  await dialog.getByRole("button", { name: "Create invitation" }).click();
  const link = (await dialog.getByLabel("Invitation link", { exact: true }).textContent()) ?? "";
  expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invite\/[0-9a-f]{64}$/);
  // Shown once, so it can be copied at once.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(page.url()).origin });
  await dialog.getByRole("button", { name: "Copy the invitation link" }).click();
  await expect(dialog.getByRole("button", { name: "Copied!", exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("row").filter({ hasText: "grace@acme.test" })).toContainText("Developer");

  // Grace accepts in a browser context of her own.
  const graceContext = await browser.newContext();
  const grace = await graceContext.newPage();
  await grace.goto(link);
  await expect(grace.getByRole("heading", { name: `Join ${owner.organization}` })).toBeVisible();
  // As every other spec does before typing: a click before hydration is another test (no_js.spec.ts).
  await expect(grace.locator("html")).toHaveAttribute("data-hydrated", "");
  await grace.getByLabel("Your name").fill("Grace Hopper");
  await grace.getByLabel("Choose a password").fill("a long enough password");
  await grace.getByRole("button", { name: "Join organization" }).click();
  await expect(grace).toHaveURL(/\/keys$/);
  await expect(grace.getByText("Grace Hopper")).toBeVisible();

  await test.step("a developer creates keys and changes only their own", async () => {
    const response = await grace.request.post("/api/create_key", { headers: sameOrigin(grace),
      form: {
        name: "Grace's key",
        project_id: (await (await grace.request.post("/api/list_projects", { headers: sameOrigin(grace) })).json())[0].id,
        environment: "development",
        scopes: "api_keys.read",
        expiration: "never",
      },
    });
    expect(response.ok(), await response.text()).toBe(true);
    await grace.reload();
    const others = grace.getByRole("row").filter({ has: grace.getByRole("link", { name: "Owner's key", exact: true }) });
    await expect(others).toBeVisible();
    // Each row's menu offers only what the member may do: another's key can be opened, not revoked.
    await others.getByRole("button", { name: "Actions for Owner's key" }).click();
    await expect(others.getByRole("link", { name: "Open" })).toBeVisible();
    await expect(others.getByRole("button", { name: /Revoke/ })).toHaveCount(0);
    const mine = grace.getByRole("row").filter({ has: grace.getByRole("link", { name: "Grace's key", exact: true }) });
    await mine.getByRole("button", { name: "Actions for Grace's key" }).click();
    await expect(mine.getByRole("button", { name: "Revoke Grace's key" })).toBeVisible();
    // The server refuses anyway, in words.
    const ownersId = (await others.getByRole("link").getAttribute("href"))?.split("/").pop();
    const refused = await grace.request.post("/api/revoke_key", { headers: sameOrigin(grace), form: { id: ownersId ?? "" } });
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toEqual({ Forbidden: "Developer members cannot change keys other members created." });
    await mine.getByRole("button", { name: "Revoke Grace's key" }).click();
    await grace.getByRole("dialog", { name: "Revoke API key" }).getByRole("button", { name: "Revoke key" }).click();
    await expect(mine).toContainText("Revoked");
  });

  await test.step("the owner sees each action in the audit log and exports it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    await expect(page.getByRole("row").filter({ hasText: "Member invited" }).first()).toContainText("grace@acme.test");
    await expect(page.getByRole("row").filter({ hasText: "Member joined" }).first()).toContainText("Grace Hopper");
    const revoked = page.getByRole("row").filter({ hasText: "Key revoked" }).filter({ hasText: "Grace's key" });
    await expect(revoked).toContainText("Grace Hopper");
    await page.getByLabel("Actor").selectOption({ label: "Grace Hopper" });
    await expect(page).toHaveURL(/\/audit\?actor=[0-9a-f-]{36}$/);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Export CSV" }).click(),
    ]);
    const csv = fs.readFileSync((await download.path()) as string, "utf8");
    expect(csv).toContain("member.joined");
    expect(csv).toContain("key.created");
    expect(csv).toContain("key.revoked");
    expect(csv).not.toContain("member.invited");
  });

  await test.step("the invitation link works once", async () => {
    const again = await browser.newContext();
    const eve = await again.newPage();
    await eve.goto(link);
    await expect(eve.getByRole("heading", { name: "This invitation cannot be used" })).toBeVisible();
    await again.close();
  });

  await test.step("the owner makes Grace a viewer with the form in her row", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
    const row = page.getByRole("row").filter({ hasText: "grace@acme.test" });
    await row.getByLabel("Role of Grace Hopper", { exact: true }).selectOption({ label: "Viewer" });
    await row.getByRole("button", { name: "Change role of Grace Hopper" }).click();
    await expect(page.getByText("Grace Hopper is now Viewer.")).toBeVisible();
    await expect(row.getByLabel("Role of Grace Hopper", { exact: true })).toHaveValue("viewer");
  });
  await graceContext.close();
});

test("the owner renames the organization and hands it to Grace, who hands it back", async ({ page, browser }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await page.goto("/settings");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const organization = page.getByRole("region", { name: "Organization" });

  await test.step("a blank name is refused in words; a new one shows in the frame", async () => {
    const name = organization.getByLabel("Name", { exact: true });
    await expect(name).toHaveValue(owner.organization);
    await name.fill("   ");
    await organization.getByRole("button", { name: "Save name" }).click();
    await expect(name).toHaveAttribute("aria-invalid", "true");
    await expect(organization).toContainText("Name is required");
    await name.fill("Acme Robotics International");
    await organization.getByRole("button", { name: "Save name" }).click();
    await expect(page.getByText("The organization is now called Acme Robotics International.")).toBeVisible();
    await page.reload();
    await expect(page.locator(".org-name")).toHaveText("Acme Robotics International");
    await organization.getByLabel("Name", { exact: true }).fill(owner.organization);
    await organization.getByRole("button", { name: "Save name" }).click();
    await expect(page.getByText(`The organization is now called ${owner.organization}.`)).toBeVisible();
  });

  await test.step("the owner hands it to Grace and becomes an admin", async () => {
    const newOwner = organization.getByLabel("Transfer ownership to");
    await newOwner.selectOption({ label: "Grace Hopper (grace@acme.test, Viewer)" });
    // Not without saying so.
    await organization.getByRole("button", { name: "Transfer ownership" }).click();
    await expect(page.getByText("Ownership transferred.")).toHaveCount(0);
    await organization.getByLabel("I understand that I will no longer be an owner.").check();
    await organization.getByRole("button", { name: "Transfer ownership" }).click();
    await expect(page.getByText("Ownership transferred. You are now an admin.")).toBeVisible();
    await expect(organization.getByRole("button", { name: "Transfer ownership" })).toHaveCount(0);
    await page.reload();
    await expect(page.getByText("Only an owner can change the plan.")).toBeVisible();
    await expect(organization.getByRole("button", { name: "Transfer ownership" })).toHaveCount(0);
  });

  await test.step("Grace, now an owner, hands it back", async () => {
    const graceContext = await browser.newContext();
    const grace = await graceContext.newPage();
    await grace.goto("/sign-in");
    await grace.getByLabel("Email").fill("grace@acme.test");
    await grace.getByLabel("Password").fill("a long enough password");
    await grace.getByRole("button", { name: "Sign in" }).click();
    await expect(grace).toHaveURL(/\/keys$/);
    await grace.goto("/settings");
    await expect(grace.locator("html")).toHaveAttribute("data-hydrated", "");
    const hers = grace.getByRole("region", { name: "Organization" });
    await hers.getByLabel("Transfer ownership to").selectOption({ label: `${owner.name} (${owner.email}, Admin)` });
    await hers.getByLabel("I understand that I will no longer be an owner.").check();
    await hers.getByRole("button", { name: "Transfer ownership" }).click();
    await expect(grace.getByText("Ownership transferred. You are now an admin.")).toBeVisible();
    await graceContext.close();
  });

  await page.reload();
  await expect(organization.getByRole("button", { name: "Transfer ownership" })).toBeVisible();
  await page.goto("/audit?action=organization.ownership_transferred");
  await expect(page.getByRole("row").filter({ hasText: "Ownership transferred" })).toHaveCount(2);
});

test("an invitation is accepted at once, before the page's code has loaded", async ({ page, browser }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const made = await page.request.post("/api/invite_member", {
    headers: sameOrigin(page), form: { email: "linus@acme.test", role: "viewer" },
  });
  expect(made.ok(), await made.text()).toBe(true);
  const { token } = await made.json();
  const context = await browser.newContext();
  const linus = await context.newPage();
  // A slow phone: the page's code arrives long after its form.
  const cdp = await context.newCDPSession(linus);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 8 });
  const sent: string[] = [];
  linus.on("request", (r) => { if (r.url().includes("/api/accept_invitation")) sent.push(r.method()); });
  await linus.goto(`/invite/${token}`, { waitUntil: "commit" });
  await linus.getByLabel("Your name").fill("Linus Torvalds");
  await linus.getByLabel("Choose a password").fill("a long enough password");
  await linus.getByRole("button", { name: "Join organization" }).click();
  await expect(linus).toHaveURL(/\/keys$/);
  await expect(linus.getByText("Linus Torvalds")).toBeVisible();
  expect(sent).toEqual(["POST"]);
  await context.close();
});
