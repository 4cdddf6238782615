import { execFileSync } from "node:child_process";
import type { Page } from "@playwright/test";
import { expect, test, createKey, owner, sameOrigin, signIn } from "./fixtures";

// What a first-time user meets, at a laptop's size and a phone's (two projects in
// playwright.config.ts run this file, after every other spec): safe defaults, a shown-once moment
// that cannot go wrong, and a sign-in page that helps.

const hydrated = (page: Page) => expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

/** The day `days` from now as the dialog writes it: "23 Feb 2027" (UTC). */
function dayInWords(days: number): string {
  const at = new Date(Date.now() + days * 86_400_000);
  const month = at.toLocaleString("en-GB", { month: "short", timeZone: "UTC" }).slice(0, 3);
  return `${at.getUTCDate()} ${month} ${at.getUTCFullYear()}`;
}

/** Makes the clipboard never answer, as a slow one would: what the page shows cannot wait for it. */
async function holdClipboard(page: Page) {
  await page.evaluate(() => {
    navigator.clipboard.writeText = () => new Promise<void>(() => {});
  });
}

/**
 * The width of the browser's own clear button inside the search field `id` (Chromium draws one in
 * the field's user-agent shadow tree, which only DevTools' protocol reaches): 0 when the page's
 * style sheet hides it.
 */
async function nativeClearButtonWidth(page: Page, id: string): Promise<number> {
  type DomNode = { nodeId: number; attributes?: string[]; children?: DomNode[]; shadowRoots?: DomNode[] };
  const cdp = await page.context().newCDPSession(page);
  const { root } = (await cdp.send("DOM.getDocument", { depth: -1, pierce: true })) as { root: DomNode };
  const has = (node: DomNode, name: string, value: string) =>
    (node.attributes ?? []).some((attribute, i) => i % 2 === 0 && attribute === name && node.attributes?.[i + 1] === value);
  const find = (node: DomNode, test: (node: DomNode) => boolean): DomNode | undefined => {
    if (test(node)) return node;
    for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) {
      const found = find(child, test);
      if (found) return found;
    }
    return undefined;
  };
  const field = find(root, (node) => has(node, "id", id));
  const button = field && find(field, (node) => has(node, "pseudo", "-webkit-search-cancel-button"));
  if (!button) throw new Error(`no search field #${id} with the browser's clear button`);
  const { model } = (await cdp.send("DOM.getBoxModel", { nodeId: button.nodeId })) as { model: { width: number } };
  await cdp.detach();
  return model.width;
}

async function openCreateDialog(page: Page) {
  await page.goto("/keys");
  await hydrated(page);
  await page.getByRole("button", { name: "Create API Key" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Create API Key" });
  await expect(dialog).toBeVisible();
  return dialog;
}

test("sign-in focuses the email, keeps it after a failed attempt, and says what to do about a forgotten password", async ({ page, request }) => {
  await page.goto("/sign-in");
  await hydrated(page);
  await expect(page.getByLabel("Email")).toBeFocused();
  await expect(page.getByText("Forgot your password? Ask an owner of your organization.")).toBeVisible();
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Invalid email or password.");
  await expect(page.getByLabel("Email")).toHaveValue(owner.email);

  // The site has an icon where browsers and tools look for one, not only the page's own link.
  const icon = await request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toMatch(/image\/(x-icon|vnd\.microsoft\.icon)/);
});

test("the create dialog starts least-privileged, warns about keys that never expire, and sums the key up", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const dialog = await openCreateDialog(page);

  await expect(dialog.getByRole("button", { name: "Read-only" })).toHaveAttribute("aria-pressed", "true");
  await expect(dialog.getByRole("checkbox", { name: /api_keys\.create/ })).not.toBeChecked();
  await expect(dialog.getByRole("checkbox", { name: /api_keys\.delete/ })).not.toBeChecked();
  const expiration = dialog.getByLabel("Expiration", { exact: true });
  await expect(expiration).toHaveValue("90");
  // One scroll area, the dialog's, whose buttons stay in sight.
  await expect(dialog.getByRole("button", { name: "Create key" })).toBeInViewport();
  expect(await dialog.locator(".scope-picker").evaluate((el) => el.scrollHeight <= el.clientHeight + 1)).toBe(true);

  const summary = dialog.locator(".key-outline");
  await expect(summary).toHaveText(
    `Summary: Can read keys, projects, usage, the audit log, members, the organization and the plan, in Production, expires ${dayInWords(90)}.`,
  );

  const neverWarning = dialog.getByText("A key that never expires works until someone revokes it");
  await expect(neverWarning).toBeHidden();
  await expiration.selectOption("never");
  await expect(neverWarning).toBeVisible();
  await expect(summary).toContainText("in Production, never expires.");
  await expiration.selectOption("30");
  await expect(neverWarning).toBeHidden();

  // The sentence follows every choice.
  await dialog.getByLabel("Environment", { exact: true }).selectOption("staging");
  await dialog.getByRole("button", { name: "Verifier" }).click();
  await expect(summary).toHaveText(`Summary: Can verify keys, in Staging, expires ${dayInWords(30)}.`);
  await dialog.getByRole("checkbox", { name: /api_keys\.revoke/ }).check();
  await dialog.getByLabel("Custom scopes for your API").fill("orders.read");
  await expect(summary).toHaveText(`Summary: Can revoke and verify keys; use orders.read, in Staging, expires ${dayInWords(30)}.`);
  await expiration.selectOption("date");
  await expect(summary).toContainText("pick the day it expires");

  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
});

test("every mistake in the create form is shown at once, under its own field", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const dialog = await openCreateDialog(page);
  const name = dialog.getByLabel("Name", { exact: true });
  const custom = dialog.getByLabel("Custom scopes for your API");
  await name.fill("   ");
  await custom.fill("Not A Scope");
  await dialog.getByRole("button", { name: "Create key" }).click();

  // One alert counts them; each field is marked and described by its own message, under it.
  await expect(dialog.getByRole("alert")).toHaveText("Fix the 2 fields marked above.");
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(name).toHaveAccessibleDescription("1 to 64 characters, to recognise the key later. Name is required.");
  await expect(dialog.getByText("Name is required.", { exact: true })).toBeVisible();
  await expect(custom).toHaveAttribute("aria-invalid", "true");
  await expect(custom).toHaveAccessibleDescription(/resource\.action, separated by spaces or commas\. "Not" is not a valid scope/);
  // A field that is fine is not marked.
  await expect(dialog.getByLabel("Description (optional)")).toHaveAttribute("aria-invalid", "false");

  // Fixed and sent again: no message is left, and the key is made.
  await name.fill("Fixed at once");
  await custom.fill("");
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("dialog", { name: "Save your API key" })).toBeVisible();
  await page.getByRole("dialog", { name: "Save your API key" }).getByRole("button", { name: "I have saved it" }).click();
  await expect(page.getByRole("link", { name: "Fixed at once" }).first()).toBeVisible();
});

test("the new key's token: Copy answers at once, Escape asks first, and the curl line verifies the key", async ({ page, context, baseURL }, testInfo) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  const verifier = await createKey(page, `First-use verifier (${testInfo.project.name})`, "api_keys.verify");

  const dialog = await openCreateDialog(page);
  const name = `First-use key (${testInfo.project.name})`;
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  const token = ((await reveal.getByLabel("API key").textContent()) ?? "").trim();
  expect(token).toMatch(/^kw_live_/);

  await test.step("Escape before Copy asks whether the key was saved", async () => {
    await page.keyboard.press("Escape");
    const question = reveal.getByRole("alert");
    await expect(question).toContainText("Did you save the key?");
    await expect(reveal).toBeVisible();
    await question.getByRole("button", { name: "Not yet" }).click();
    await expect(question).toBeHidden();
    await expect(reveal.getByLabel("API key")).toHaveText(token);
  });

  await test.step("the curl line, run as shown, verifies the new key", async () => {
    const command = ((await reveal.getByLabel("Try it: verify the key with a verifier key of its project").textContent()) ?? "").trim();
    expect(command).toContain(`${baseURL}/api/v1/keys/verify`);
    expect(command).toContain(token);
    expect(command).not.toContain(verifier.token);
    const answer = execFileSync("sh", ["-c", command], { env: { ...process.env, KEYWARD_VERIFIER_KEY: verifier.token } });
    expect(JSON.parse(answer.toString())).toMatchObject({ valid: true, code: "VALID", name });
  });

  await test.step("Copy says so as it is pressed, without waiting for the clipboard", async () => {
    await holdClipboard(page);
    await reveal.getByRole("button", { name: "Copy", exact: true }).click();
    await expect(reveal.getByRole("button", { name: "Copied!", exact: true })).toBeVisible();
    // Copied: Escape closes without asking.
    await page.keyboard.press("Escape");
    await expect(reveal).toBeHidden();
  });
});

test("a refused copy takes its answer back and says what to do; Yes, close closes", async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const dialog = await openCreateDialog(page);
  await dialog.getByLabel("Name", { exact: true }).fill(`First-use refused copy (${testInfo.project.name})`);
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  await expect(reveal.getByLabel("API key")).toHaveText(/^kw_live_/);

  await page.evaluate(() => {
    navigator.clipboard.writeText = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
  });
  await reveal.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(reveal.getByRole("alert")).toHaveText("Could not copy. Select the key and copy it by hand.");
  await expect(reveal.getByRole("button", { name: "Copy", exact: true })).toBeVisible();
  // Not copied, so Escape still asks; the answer closes it.
  await page.keyboard.press("Escape");
  await reveal.getByRole("alert").getByRole("button", { name: "Yes, close" }).click();
  await expect(reveal).toBeHidden();
});

test("a key's page: its ID to copy, a day's grace suggested for rotation, and a production key disabled only once confirmed", async ({ page, context, baseURL }, testInfo) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  const key = await createKey(page, `First-use production (${testInfo.project.name})`, "api_keys.read");
  await page.goto(`/keys/${key.key.id}`);
  await hydrated(page);

  // The management API names keys by ID: it is on the page, with a Copy button.
  await expect(page.getByText(key.key.id, { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Copy the key's ID" }).click();
  await expect(page.getByRole("button", { name: "Copied!", exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key.key.id);

  await page.getByRole("button", { name: "Rotate" }).click();
  const rotate = page.getByRole("dialog", { name: "Rotate API key" });
  const grace = rotate.getByLabel("Keep the old secret working for");
  await expect(grace).toHaveValue("24h");
  const stopsNow = rotate.getByText("Every integration that uses the old secret stops working now.");
  await expect(stopsNow).toBeHidden();
  await grace.selectOption("none");
  await expect(stopsNow).toBeVisible();
  await rotate.getByRole("button", { name: "Cancel" }).click();
  await expect(rotate).toBeHidden();

  // Its name, description and expiry are edited on its page.
  await page.getByRole("button", { name: "Edit details" }).click();
  const details = page.getByRole("dialog", { name: "Edit details" });
  await expect(details.getByLabel("Expiration", { exact: true })).toHaveValue("keep");
  await expect(details.getByLabel("Expiration", { exact: true }).locator("option:checked")).toHaveText("As it is: never expires");
  await details.getByLabel("Name", { exact: true }).fill(`Renamed (${testInfo.project.name})`);
  await details.getByLabel("Description (optional)").fill("Edited on its page");
  await details.getByLabel("Expiration", { exact: true }).selectOption("30");
  await details.getByRole("button", { name: "Save" }).click();
  await expect(details).toBeHidden();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Renamed (${testInfo.project.name})`);
  await expect(page.getByText("Edited on its page")).toBeVisible();
  await expect(page.locator(".properties")).toContainText(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
  // A blank name is refused in the dialog, by name.
  await page.getByRole("button", { name: "Edit details" }).click();
  await details.getByLabel("Name", { exact: true }).fill("   ");
  await details.getByRole("button", { name: "Save" }).click();
  await expect(details.getByRole("alert")).toHaveText("Fix the field marked above.");
  await expect(details.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await expect(details.getByLabel("Name", { exact: true })).toHaveAccessibleDescription(
    "1 to 64 characters, to recognise the key later. Name is required.",
  );
  await details.getByRole("button", { name: "Cancel" }).click();

  // Cancelled: nothing changes.
  await page.getByRole("button", { name: "Disable" }).click();
  const confirm = page.getByRole("dialog", { name: "Disable production key" });
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toBeHidden();
  await page.reload();
  await expect(page.locator(".page-header")).toContainText("Active");
  // Confirmed: disabled.
  await page.getByRole("button", { name: "Disable" }).click();
  await confirm.getByRole("button", { name: "Disable key" }).click();
  await expect(page.locator(".page-header")).toContainText("Disabled");
});

test("a relative time keeps counting while the page stays open", async ({ page }, testInfo) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const key = await createKey(page, `Revoked a while ago (${testInfo.project.name})`, "api_keys.read");
  const revoked = await page.request.post("/api/revoke_key", { headers: sameOrigin(page), form: { id: key.key.id } });
  expect(revoked.ok(), await revoked.text()).toBe(true);
  // A member's last activity too, on the members page (a card on a phone, which names it).
  await page.goto("/members");
  await hydrated(page);
  const ada = page.locator("tbody tr", { hasText: owner.email });
  // Last activity is written at most once a minute or so.
  await expect(ada.locator("td[data-label='Last active']")).toHaveText(/^(just now|\d+ min ago)$/);
  if (testInfo.project.name === "390") {
    const label = await ada.locator("td[data-label='Last active']").evaluate((cell) => getComputedStyle(cell, "::before").content);
    expect(label).toBe('"Last active "');
  }

  await page.clock.install();
  await page.goto(`/keys/${key.key.id}`);
  await hydrated(page);
  const note = page.getByRole("note");
  await expect(note).toHaveText(`Revoked by ${owner.name}, just now.`);
  // The exact time stays on hover.
  await expect(note.locator("time")).toHaveAttribute("title", / UTC$/);
  await page.clock.fastForward("05:00");
  await expect(note).toHaveText(`Revoked by ${owner.name}, 5 min ago.`);
  await page.clock.fastForward("01:00:00");
  await expect(note).toHaveText(`Revoked by ${owner.name}, 1 h ago.`);
});

test("the keys list: plain counts, one way to clear a search, Clear filters on an empty result, and no page past the last", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await hydrated(page);
  // What counts toward the plan, in words.
  await expect(page.locator(".stats")).toContainText(/allowed by your plan; every key not revoked counts|not revoked; your plan has no limit/);

  const search = page.getByLabel("Search keys");
  await search.fill("nothing is called this");
  await expect(page).toHaveURL(/q=nothing/);
  // One clear button: the page's own, and not the browser's beside it.
  await expect(page.getByRole("button", { name: "Clear search" })).toHaveCount(1);
  await search.focus();
  expect(await nativeClearButtonWidth(page, "key-search")).toBe(0);
  await expect(page.getByText("No keys match this search and these filters.")).toBeVisible();
  await page.getByRole("link", { name: "Clear filters" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(search).toHaveValue("");
  await expect(page.getByRole("table", { name: "API keys" })).toBeVisible();

  // An old link past the end lands on the last page, with a real redirect from the server too.
  const answer = await page.request.get("/keys?per_page=10&page=999", { maxRedirects: 0 });
  expect(answer.status()).toBe(302);
  const last = new URL(answer.headers()["location"], page.url());
  expect(last.searchParams.get("page")).toMatch(/^\d+$/);
  await page.goto("/keys?per_page=10&page=999");
  await expect(page).toHaveURL(new RegExp(`page=${last.searchParams.get("page")}`));
  await expect(page.getByRole("link", { name: "Next" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Previous" })).toBeVisible();
});

test("the header fits the screen: its navigation in a menu on a phone, in the header on a laptop", async ({ page }) => {
  await signIn(page);
  await hydrated(page);
  const nav = page.getByRole("navigation", { name: "Main" });
  const menu = page.getByRole("button", { name: "Menu" });
  const narrow = (page.viewportSize()?.width ?? 1280) < 700;
  if (!narrow) {
    await expect(menu).toBeHidden();
    await expect(nav).toBeVisible();
  } else {
    await expect(nav).toBeHidden();
    await menu.click();
    await expect(nav).toBeVisible();
    await nav.getByRole("link", { name: "Audit log" }).click();
    await expect(page).toHaveURL(/\/audit$/);
    // Followed, the menu closes.
    await expect(nav).toBeHidden();
    // The stats are a 2×2 grid.
    await page.goto("/keys");
    const boxes = await page.locator(".stat").evaluateAll((stats) => stats.map((s) => Math.round(s.getBoundingClientRect().top)));
    expect(new Set(boxes).size, `the stats' rows: ${boxes}`).toBe(2);
  }
  for (const path of ["/keys", "/audit", "/members", "/projects", "/settings", "/account"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(page.viewportSize()?.width ?? 0);
  }
});
