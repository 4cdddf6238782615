import AxeBuilder from "@axe-core/playwright";
import { createHmac } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, createKey, signIn } from "./fixtures";

// Webhooks in the dashboard's settings (issue 17): an owner adds an endpoint, sees its secret once, sends a
// test event, and watches the deliveries arrive, signed, at a receiver this spec runs on loopback
// (the test server allows loopback destinations: KEYWARD_WEBHOOK_ALLOW_PRIVATE).

type Delivery = { headers: http.IncomingHttpHeaders; body: string };

/** A receiver on a loopback port that records every POST and answers 204. */
async function receiver() {
  const got: Delivery[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      got.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, got, close: () => server.close() };
}

/** Standard Webhooks' check, written here from the specification: HMAC-SHA256 of id.timestamp.body. */
function signedWith(secret: string, delivery: Delivery): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature } = delivery.headers;
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${delivery.body}`).digest("base64");
  return String(signature).split(" ").includes(`v1,${expected}`);
}

test("an owner adds an endpoint, copies its secret once, and sees signed deliveries arrive", async ({ page }) => {
  const hooks = await receiver();
  try {
    await signIn(page);
    await expect(page).toHaveURL(/\/keys$/);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await expect(page.getByRole("heading", { level: 2, name: "Webhooks" })).toBeVisible();
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
    expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

    // A URL that is not one is refused in place, naming the field.
    await page.getByLabel("Endpoint URL").fill("ftp://hooks.example.com/");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByLabel("Endpoint URL")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText("must start with https://")).toBeVisible();

    await page.getByLabel("Endpoint URL").fill(hooks.url);
    const events = page.getByRole("group", { name: "Events" });
    await expect(events.getByRole("checkbox", { name: "key.revoked" })).toBeChecked();
    await events.getByRole("checkbox", { name: "member.joined" }).check();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Endpoint ${hooks.url} added.` })).toBeVisible();
    const secretPanel = page.getByRole("region", { name: "Signing secret" });
    const secret = (await secretPanel.getByLabel("Signing secret", { exact: true }).textContent()) ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
    await secretPanel.getByRole("button", { name: "I have saved it" }).click();
    await expect(secretPanel).toHaveCount(0);
    await page.reload();
    await expect(page.getByText(secret)).toHaveCount(0);

    const card = page.getByRole("region", { name: hooks.url });
    await card.getByRole("button", { name: `Send a test event to ${hooks.url}` }).click();
    await expect(page.getByRole("status").filter({ hasText: "Test event queued" })).toBeVisible();
    await createKey(page, "Announced key", "api_keys.read");
    await expect.poll(() => hooks.got.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const types = hooks.got.map((d) => JSON.parse(d.body).type);
    expect(types).toEqual(expect.arrayContaining(["webhook.test", "key.created"]));
    for (const delivery of hooks.got) expect(signedWith(secret, delivery)).toBe(true);

    // The card lists them, delivered.
    await expect(async () => {
      await page.reload();
      const rows = card.getByRole("table", { name: "Recent deliveries" }).getByRole("row");
      await expect(rows.filter({ hasText: "webhook.test" })).toContainText("Delivered (204)", { timeout: 1_000 });
      await expect(rows.filter({ hasText: "key.created" })).toContainText("Delivered (204)", { timeout: 1_000 });
    }).toPass({ timeout: 15_000 });

    // Sent again by hand: the same webhook-id and body, signed afresh.
    const test = hooks.got.find((d) => JSON.parse(d.body).type === "webhook.test")!;
    const count = hooks.got.length;
    await card.getByRole("button", { name: /^Resend webhook\.test delivery msg_/ }).click();
    await expect(page.getByRole("status").filter({ hasText: "Delivery queued again." })).toBeVisible();
    await expect.poll(() => hooks.got.length, { timeout: 15_000 }).toBe(count + 1);
    const again = hooks.got[count];
    expect([again.headers["webhook-id"], again.body]).toEqual([test.headers["webhook-id"], test.body]);
    expect(signedWith(secret, again)).toBe(true);

    // Disabled, it takes no new events; enabled again, it does.
    await card.getByRole("button", { name: `Disable ${hooks.url}` }).click();
    await expect(card.getByText("Disabled", { exact: true })).toBeVisible();
    const before = hooks.got.length;
    await createKey(page, "Unannounced key", "api_keys.read");
    await card.getByRole("button", { name: `Enable ${hooks.url}` }).click();
    await expect(card.getByText("Disabled", { exact: true })).toHaveCount(0);
    await page.waitForTimeout(2_000);
    expect(hooks.got.length).toBe(before);

    // Deleting asks first.
    await card.getByText("Delete…").click();
    await card.getByRole("button", { name: `Delete the endpoint ${hooks.url}` }).click();
    await expect(page.getByRole("status").filter({ hasText: "Endpoint deleted." })).toBeVisible();
    await expect(page.getByText("No endpoints yet.")).toBeVisible();
  } finally {
    hooks.close();
  }
});
