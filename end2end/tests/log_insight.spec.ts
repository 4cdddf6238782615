import type { Page } from "@playwright/test";
import { expect, test, createKey, defaultProjectId, sameOrigin, signIn } from "./fixtures";

// What the verification log tells (issue 16): keys still presented after they stopped working,
// scopes never asked for and narrowed away, stale keys disabled at once, and a project's chart.
// (Runs after keys.spec.ts, which sets the instance up; the log is written every second here.)

const hydrated = (page: Page) => expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

/** Reloads until `check` passes: the log reaches the database on its next flush. */
async function onceLogged(page: Page, check: () => Promise<void>) {
  await expect(async () => {
    await page.reload();
    await check();
  }).toPass({ timeout: 20_000 });
}

test("a revoked key still presented needs attention, on the keys page and its own", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const forgotten = await createKey(page, "Forgotten integration", "api_keys.read");
  const verifier = await createKey(page, "Verifier for the log", "api_keys.verify");
  const revoked = await page.request.post("/api/revoke_key", { headers: sameOrigin(page), form: { id: forgotten.key.id } });
  expect(revoked.ok()).toBe(true);
  for (const ip of ["203.0.113.8", "203.0.113.9"]) {
    const answer = await page.request.post("/api/v1/keys/verify", {
      headers: { "X-API-Key": verifier.token },
      data: { key: forgotten.token, ip },
    });
    expect((await answer.json()).code).toBe("REVOKED");
  }

  // Folded to one line; opened, it names the keys. Each try reloads, which folds it again.
  const panel = page.getByRole("region", { name: "Needs attention" });
  const item = panel.getByRole("listitem").filter({ hasText: "Forgotten integration" });
  // Both presentations logged: the two may straddle a flush, and the page shows what was written.
  await onceLogged(page, async () => {
    await panel.getByText("Needs attention", { exact: true }).click({ timeout: 1_000 });
    await expect(item).toContainText("presented 2 times", { timeout: 1_000 });
  });
  await expect(item).toContainText("from 203.0.113.9");
  await item.getByRole("link", { name: "Forgotten integration" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Forgotten integration" })).toBeVisible();
  await expect(page.getByRole("note").filter({ hasText: "Still presented." })).toContainText("2 times");
});

test("scopes never asked for are shown, and the key narrowed to the ones used", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const key = await createKey(page, "Reporting client", "reports.read reports.write");
  const verifier = await createKey(page, "Verifier for reports", "api_keys.verify");
  const answer = await page.request.post("/api/v1/keys/verify", {
    headers: { "X-API-Key": verifier.token },
    data: { key: key.token, scopes: ["reports.read"] },
  });
  expect((await answer.json()).code).toBe("VALID");

  await page.goto(`/keys/${key.key.id}`);
  const uses = page.locator(".scope-use li");
  await onceLogged(page, () => expect(uses).toHaveText(["reports.read used", "reports.write never asked for"], { timeout: 1_000 }));
  await hydrated(page);
  await page.getByRole("button", { name: "Narrow to the scopes used" }).click();
  const dialog = page.getByRole("dialog", { name: "Narrow to the scopes used" });
  await expect(dialog.getByRole("listitem")).toHaveText(["reports.write"]);
  await dialog.getByRole("button", { name: "Remove unused scopes" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: 'Scopes of "Reporting client" saved.' })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Scopes (1 scope)" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Narrow to the scopes used" })).toHaveCount(0);
});

test("stale keys are filtered and disabled together", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await createKey(page, "Stale one", "api_keys.read");
  await createKey(page, "Stale two", "api_keys.read");
  await page.goto("/keys");
  await hydrated(page);
  await page.getByLabel("Unused").selectOption({ label: "Never used" });
  await expect(page).toHaveURL(/unused=never/);
  const table = page.getByRole("table", { name: "API keys" });
  await expect(table.getByRole("rowheader", { name: /^Stale one/ })).toBeVisible();
  await table.getByRole("checkbox", { name: "Stale one", exact: true }).check();
  await table.getByRole("checkbox", { name: "Stale two", exact: true }).check();
  await page.getByRole("button", { name: "Disable selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Disabled 2 keys." })).toBeVisible();
  // No longer active, so no longer stale: gone from this view, and disabled in the list.
  await expect(table.getByRole("rowheader", { name: /^Stale one/ })).toHaveCount(0);
  await page.goto("/keys?status=disabled");
  const rows = page.getByRole("table", { name: "API keys" }).getByRole("row");
  await expect(rows.filter({ hasText: "Stale one" })).toContainText("Disabled");
  await expect(rows.filter({ hasText: "Stale two" })).toContainText("Disabled");
});

test("a project's traffic is drawn by the server, and loads as an image", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  // Some traffic of the Default project within the last 24 hours: the verifications above.
  await page.goto("/projects");
  const card = page.getByRole("region", { name: "Default", exact: true });
  await card.getByText("Verifications: last 24 hours, 7 days, 30 days").click();
  const chart = card.getByRole("img", { name: /by verdict over the last 24 hours, and its most verified keys$/ });
  await expect(chart).toBeVisible();
  await expect.poll(() => chart.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(720);
  await expect(card.getByRole("img", { name: /over the last 30 days/ })).toBeVisible();
});

test("a key that expires within a week needs attention too", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const inThreeDays = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  const created = await page.request.post("/api/create_key", { headers: sameOrigin(page),
    form: { name: "Quarterly export", project_id: await defaultProjectId(page), environment: "production",
      scopes: "api_keys.read", expiration: "date", expires_on: inThreeDays },
  });
  expect(created.ok(), await created.text()).toBe(true);
  await page.reload();
  const panel = page.getByRole("region", { name: "Needs attention" });
  await expect(panel).toContainText(/expires? within 7 days/);
  await panel.getByText("Needs attention", { exact: true }).click();
  const item = panel.getByRole("listitem").filter({ hasText: "Quarterly export" });
  await expect(item).toContainText(`expires ${inThreeDays}`);
  await item.getByRole("link", { name: "Quarterly export" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Quarterly export" })).toBeVisible();
});

test("a busy key's identical verifications are one log entry each second, and each one counts", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const busy = await createKey(page, "Busy integration", "api_keys.read");
  const verifier = await createKey(page, "Verifier of the busy key", "api_keys.verify");
  const answers = await Promise.all([...Array(12)].map(() => page.request.post("/api/v1/keys/verify", {
    headers: { "X-API-Key": verifier.token },
    data: { key: busy.token },
  })));
  for (const answer of answers) expect((await answer.json()).code).toBe("VALID");

  await page.goto(`/keys/${busy.key.id}`);
  await hydrated(page);
  const log = page.getByRole("table", { name: "Recent verifications" });
  // The twelve may straddle a second or a flush: whatever the entries, they add up to twelve.
  await onceLogged(page, async () => {
    const rows = await log.getByRole("row").allTextContents();
    const counted = rows.slice(1).map((row) => Number(/· (\d+) times/.exec(row)?.[1] ?? 1));
    expect(counted.reduce((sum, n) => sum + n, 0)).toBe(12);
    expect(counted.length).toBeLessThan(12);
  });
});
