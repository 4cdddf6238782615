import { expect, test, createKey, signIn } from "./fixtures";

test("keys work: services verify them, scripts manage them, and the dashboard shows their use", async ({ page, request }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/keys/);
  const verifier = await createKey(page, "E2E verifier", "api_keys.verify api_keys.read api_keys.revoke stats.read");
  const customer = await createKey(page, "E2E customer", "telemetry.write");
  const verify = (body: object) =>
    request.post("/api/v1/keys/verify", { headers: { "X-API-Key": verifier.token }, data: body });

  for (let i = 0; i < 3; i++) {
    const response = await verify({ key: customer.token, environment: "production", scopes: ["telemetry.write"] });
    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({ valid: true, code: "VALID", name: "E2E customer", environment: "production" });
  }
  expect(await (await verify({ key: customer.token, scopes: ["billing.write"] })).json()).toEqual(
    expect.objectContaining({ valid: false, code: "INSUFFICIENT_SCOPE" }),
  );

  // The caller's own key is checked first: none is a 401 problem, and no secret comes back.
  const anonymous = await request.post("/api/v1/keys/verify", { data: { key: customer.token } });
  expect(anonymous.status()).toBe(401);
  expect(anonymous.headers()["content-type"]).toBe("application/problem+json");
  const problem = await anonymous.text();
  expect(JSON.parse(problem)).toMatchObject({ status: 401, code: "MISSING_API_KEY" });
  expect(problem).not.toContain(customer.token);

  // Usage is counted in memory and written every second in this run: the key's page charts it.
  await page.goto(`/keys/${customer.key.id}`);
  const caption = "4 calls in the last 7 days: 3 valid, 1 denied";
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("img", { name: caption })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await page.getByText("Hourly figures").click();
  await expect(page.getByRole("row", { name: /UTC 3 1/ })).toBeVisible();

  // The management API sees the same: last used, and the calls in the summary.
  const fetched = await request.get(`/api/v1/keys/${customer.key.id}`, { headers: { Authorization: `Bearer ${verifier.token}` } });
  expect(fetched.status()).toBe(200);
  expect((await fetched.json()).last_used_at).not.toBeNull();
  const summary = await (await request.get("/api/v1/stats/summary", { headers: { "X-API-Key": verifier.token } })).json();
  expect(summary.calls_24h).toBeGreaterThanOrEqual(4);

  // Revoked by a script: the very next verification says so, and so does the dashboard.
  const revoked = await request.post(`/api/v1/keys/${customer.key.id}/revoke`, { headers: { "X-API-Key": verifier.token } });
  expect(revoked.status()).toBe(200);
  expect(await (await verify({ key: customer.token })).json()).toMatchObject({ valid: false, code: "REVOKED" });
  await page.reload();
  await expect(page.getByRole("heading", { name: "E2E customer" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Revoke" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Delete permanently" })).toBeVisible();

  const openapi = await request.get("/api/v1/openapi.json");
  expect(openapi.ok()).toBe(true);
  expect((await openapi.json()).paths).toHaveProperty(["/api/v1/keys/verify"]);
});
