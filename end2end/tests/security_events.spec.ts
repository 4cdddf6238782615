import AxeBuilder from "@axe-core/playwright";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { expect, test, createKey, signIn, TOKEN } from "./fixtures";

// Decoy keys and leaked keys (issue 17). Decoys: one is made in the create dialog, used once at
// verify and once against the management API, and the keys page raises the alarm.
// Leaked keys: a key reported from its page, a token pasted into "Check a leaked token",
// and a report signed as GitHub's secret scanning signs them, by the scanner whose public key the
// test server was given (playwright.config.ts: KEYWARD_LEAK_REPORT_KEYS). Each leaked key is
// disabled, the organization's default policy, and says so on its page.

const LEAK_URL = "https://github.com/acme/robots/blob/main/.env";

/** A report in GitHub's format, signed with ECDSA P-256 / SHA-256 (DER, base64) as GitHub signs. */
function signedReport(tokens: string[]) {
  const body = JSON.stringify(tokens.map((token) => ({ token, type: "keyward_api_key", url: LEAK_URL, source: "content" })));
  const key = crypto.createPrivateKey(fs.readFileSync(process.env.E2E_SCANNER_KEY!));
  const signature = crypto.sign("sha256", Buffer.from(body), key).toString("base64");
  return {
    data: body,
    headers: {
      "Content-Type": "application/json",
      "Github-Public-Key-Identifier": "e2e-scanner",
      "Github-Public-Key-Signature": signature,
    },
  };
}

async function verify(page: import("@playwright/test").Page, admin: string, key: string): Promise<string> {
  const answer = await page.request.post("/api/v1/keys/verify", { headers: { "X-API-Key": admin }, data: { key } });
  expect(answer.ok()).toBe(true);
  return (await answer.json()).code;
}

test("a key reported leaked from its page is disabled and says so", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const admin = await createKey(page, "Leak checker", "api_keys.verify");
  const leaky = await createKey(page, "Committed by mistake", "api_keys.read");
  await page.goto(`/keys/${leaky.key.id}`);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");

  await page.getByRole("group", { name: "Key actions" }).getByRole("button", { name: "Report as leaked" }).click();
  const dialog = page.getByRole("dialog", { name: "Report key as leaked" });
  await expect(dialog).toContainText("policy for leaked keys");
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await dialog.getByRole("button", { name: "Report as leaked" }).click();
  await expect(page.getByRole("status").filter({ hasText: "\"Committed by mistake\" reported leaked: the key was disabled." })).toBeVisible();
  await expect(dialog).toBeHidden();
  await page.reload();
  const note = page.getByRole("note").filter({ hasText: "Leaked." });
  await expect(note).toContainText("reported leaked by Ada Lovelace");
  await expect(note).toContainText("Rotate the key, give its users the new secret, then enable it again.");
  await expect(page.locator(".page-header .badge")).toHaveText("Disabled");
  expect(await verify(page, admin.token, leaky.token)).toBe("DISABLED");
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
});

test("a token pasted into Check a leaked token, and one a scanner reports, are stopped", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  const admin = await createKey(page, "Leak verifier", "api_keys.verify");
  const pasted = await createKey(page, "Pasted in a ticket", "api_keys.read");
  const scanned = await createKey(page, "Pushed to GitHub", "api_keys.read");

  await page.goto("/settings");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const card = page.getByRole("region", { name: "Leaked keys" });
  await expect(card.getByRole("radio", { name: /^Disable the key/ })).toBeChecked();
  // Not a token: refused in place, naming the field.
  await card.getByLabel("Check a leaked token").fill("not-a-token");
  await card.getByRole("button", { name: "Check token" }).click();
  await expect(card.getByLabel("Check a leaked token")).toHaveAttribute("aria-invalid", "true");
  await expect(card.getByText("This is not a Keyward API key")).toBeVisible();
  await card.getByLabel("Check a leaked token").fill(pasted.token);
  await card.getByRole("button", { name: "Check token" }).click();
  await expect(card.getByRole("status")).toContainText("Pasted in a ticket: the key was disabled.");
  await expect(card.getByLabel("Check a leaked token")).toHaveValue("");
  expect(await verify(page, admin.token, pasted.token)).toBe("DISABLED");
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

  // GitHub's secret scanning, signed by the configured scanner: one label per token.
  const unknown = "kw_live_" + "A".repeat(38);
  const answer = await page.request.post("/api/v1/leaks/github", signedReport([scanned.token, unknown]));
  expect(answer.status()).toBe(200);
  expect((await answer.json()).map((t: { label: string }) => t.label)).toEqual(["true_positive", "false_positive"]);
  expect(await verify(page, admin.token, scanned.token)).toBe("DISABLED");
  await page.goto(`/keys/${scanned.key.id}`);
  const note = page.getByRole("note").filter({ hasText: "Leaked." });
  await expect(note).toContainText("secret scanning (github)");
  await expect(note.getByRole("link", { name: LEAK_URL })).toHaveAttribute("href", LEAK_URL);
  // Unsigned, the same report changes nothing.
  const forged = await page.request.post("/api/v1/leaks/github", { ...signedReport([admin.token]), headers: { "Content-Type": "application/json" } });
  expect(forged.status()).toBe(401);
  expect(await verify(page, admin.token, admin.token)).toBe("VALID");

  // The policy: an owner switches to "only notify", and a leak is then recorded but not acted on.
  await page.goto("/settings");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  await card.getByRole("radio", { name: /^Only notify/ }).check();
  await card.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Policy for leaked keys saved." })).toBeVisible();
  const noticed = await createKey(page, "Only noticed", "api_keys.read");
  await card.getByLabel("Check a leaked token").fill(noticed.token);
  await card.getByRole("button", { name: "Check token" }).click();
  await expect(card.getByRole("status")).toContainText("Only noticed: the key was left as it was.");
  expect(await verify(page, admin.token, noticed.token)).toBe("VALID");
  // Back to the default, for the specs after this one.
  await card.getByRole("radio", { name: /^Disable the key/ }).check();
  await card.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Policy for leaked keys saved." }).last()).toBeVisible();
  await page.reload();
  await expect(card.getByRole("radio", { name: /^Disable the key/ })).toBeChecked();
});

test("a decoy made in the dialog never works, and its use raises an alert", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  const verifier = await createKey(page, "Decoy watcher", "api_keys.verify");

  await page.getByRole("button", { name: "Create API Key" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Create API Key" });
  await dialog.getByLabel("Name", { exact: true }).fill("AWS backup credentials");
  await dialog.getByLabel("Environment", { exact: true }).selectOption({ label: "Production" });
  await dialog.getByLabel("Decoy key (honeytoken)").check();
  await dialog.getByRole("button", { name: "Create key" }).click();
  const reveal = page.getByRole("dialog", { name: "Save your API key" });
  const token = (await reveal.getByLabel("API key").textContent()) ?? "";
  expect(token).toMatch(TOKEN);
  await reveal.getByRole("button", { name: "I have saved it" }).click();
  const row = page.getByRole("row").filter({ hasText: "AWS backup credentials" });
  await expect(row.getByText("Decoy", { exact: true })).toBeVisible();

  // An intruder tries it: at verify (from the address the service passes on), then as an API key.
  const verdict = await page.request.post("/api/v1/keys/verify", {
    headers: { "X-API-Key": verifier.token },
    data: { key: token, ip: "203.0.113.66" },
  });
  expect((await verdict.json()).code).toBe("NOT_FOUND");
  const call = await page.request.get("/api/v1/keys", { headers: { "X-API-Key": token } });
  expect(call.status()).toBe(401);

  const alert = page.getByRole("alert").filter({ hasText: "Decoy key used" });
  await expect(async () => {
    await page.reload();
    await expect(alert.getByRole("listitem")).toHaveCount(2, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(alert.getByRole("listitem").filter({ hasText: "203.0.113.66" })).toContainText(
    "presented to a service that verified it",
  );
  await expect(alert).toContainText("used against the management API");
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await alert.getByRole("link", { name: "AWS backup credentials" }).first().click();
  const uses = page.getByRole("region", { name: "Decoy key" });
  await expect(uses.getByRole("listitem")).toHaveCount(2);
  await expect(uses).toContainText("from 203.0.113.66");
});
