// Walks `jira-auth cloud serve` in headless Chromium as a person would: home, consent, the
// site picker (three sites), the result, reload, Back, a second tab, a denied consent, a
// tampered cookie, a refused address. Asserts what each page says, checks the layout at 390 px
// and 1000 px, saves screenshots, and writes every response of the service (status, headers,
// body; not the URL, which carries the code by design) to OUT_DIR/seen.json for the leak check
// that `cargo xtask browser` runs afterwards.
//
// Started by `cargo xtask browser`, which provides BASE_URL (the service), AUTH_URL (the fake
// Atlassian), CHROMIUM and OUT_DIR.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const AUTH = process.env.AUTH_URL;
const OUT = process.env.OUT_DIR;
assert.ok(BASE && AUTH && OUT, 'BASE_URL, AUTH_URL and OUT_DIR are set by `cargo xtask browser`');

const SITES = {
  acme: '1324a887-45db-1bf4-1e99-ef0ff456d421',
  beta: 'c0ffee00-1234-4abc-8def-0123456789ab',
};

const seen = [];
const pending = [];
const started = Date.now();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Root in a CI container has no user namespaces for Chromium's sandbox.
  args: ['--no-sandbox'],
});

async function newContext() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(15_000);
  context.on('response', (response) => {
    if (!response.url().startsWith(BASE)) return;
    pending.push(
      (async () => {
        let body = '';
        try {
          body = await response.text();
        } catch {
          // Redirects have no body to read.
        }
        seen.push({ status: response.status(), headers: await response.allHeaders(), body });
      })(),
    );
  });
  return context;
}

async function step(name, run) {
  const at = Date.now();
  try {
    await run();
  } catch (error) {
    console.error(`FAIL ${name}: ${error.message}`);
    throw error;
  }
  console.log(`ok   ${name} (${Date.now() - at} ms)`);
}

const heading = (page) => page.locator('main h1').innerText();
const text = (page, selector) => page.locator(selector).innerText();

/// No horizontal scroll; no value (URL, cloud id, code) wrapped onto two lines or cut off.
async function checkLayout(page, name) {
  for (const width of [1000, 390]) {
    await page.setViewportSize({ width, height: 800 });
    const layout = await page.evaluate(() => {
      const doc = document.documentElement;
      const values = [...document.querySelectorAll('.value, code')];
      return {
        scrollWidth: doc.scrollWidth,
        clientWidth: doc.clientWidth,
        broken: values.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent),
        cut: values.filter((e) => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).display === 'block').map((e) => e.textContent),
        main: !!document.querySelector('main'),
      };
    });
    assert.ok(layout.main, `${name}: a <main> landmark`);
    assert.ok(layout.scrollWidth <= layout.clientWidth, `${name} at ${width} px scrolls sideways (${layout.scrollWidth} > ${layout.clientWidth})`);
    assert.deepEqual(layout.broken, [], `${name} at ${width} px: values broken across lines`);
    assert.deepEqual(layout.cut, [], `${name} at ${width} px: values cut off`);
    await page.screenshot({ path: path.join(OUT, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1000, height: 800 });
}

/// From the service's home page to Atlassian's (the fake's) consent screen.
async function toConsentScreen(page) {
  await page.goto(`${BASE}/`);
  await page.click('#connect');
  await page.waitForURL(`${AUTH}/**`);
}

try {
  const context = await newContext();
  const page = await context.newPage();

  await step('home before any consent', async () => {
    await page.goto(`${BASE}/`);
    assert.equal(await heading(page), 'Connect Jira Cloud');
    assert.equal(await text(page, '#connected'), 'No Jira site is connected yet.');
    assert.equal(await text(page, '#connect'), 'Connect Jira');
    await checkLayout(page, 'home');
  });

  await step('consent on Atlassian, then the site picker with three sites', async () => {
    await toConsentScreen(page);
    await page.click('#accept');
    await page.waitForURL(`${BASE}/oauth/callback?**`);
    assert.equal(await heading(page), 'Choose a Jira site');
    assert.equal(await page.locator('input[type=radio][name=site]').count(), 3);
    assert.equal(await page.locator('fieldset legend').innerText(), 'Jira sites');
    assert.equal(await text(page, '#cancel'), 'Cancel');
    await checkLayout(page, 'picker');
  });

  await step('reload of the picker shows the same picker', async () => {
    await page.reload();
    assert.equal(await heading(page), 'Choose a Jira site');
    assert.equal(await page.locator('input[type=radio][name=site]').count(), 3);
  });

  await step('choose a site: the result names it', async () => {
    await page.check(`input[value="${SITES.beta}"]`);
    await page.click('#choose');
    await page.waitForURL(`${BASE}/oauth/select-site`);
    assert.equal(await heading(page), 'Jira connected');
    const result = await text(page, '#result');
    assert.match(result, /beta-corp/);
    assert.match(result, new RegExp(SITES.beta));
    await checkLayout(page, 'result');
  });

  await step('reload of the result (the form sent again) says what the consent did', async () => {
    await page.reload();
    assert.equal(await heading(page), 'Already connected');
    assert.match(await text(page, '#result'), /beta-corp/);
  });

  await step('Back to the callback says what the consent did', async () => {
    await page.goBack();
    assert.equal(await heading(page), 'Already connected');
    assert.match(await text(page, '#result'), /beta-corp/);
    // Forward lands on the form's result, which Chromium re-sends only after its own "Confirm
    // Form Resubmission" prompt; the reload step above covers what that re-sent form shows.
  });

  await step('home of a connected service warns that a new consent replaces the login', async () => {
    await page.goto(`${BASE}/`);
    assert.match(await text(page, '#connected'), /beta-corp/);
    assert.match(await text(page, '#replace-warning'), /Connecting again replaces this login/);
    await checkLayout(page, 'home-connected');
  });

  await step('two tabs: the older consent says a newer one replaced it', async () => {
    const first = await context.newPage();
    await toConsentScreen(first);
    const second = await context.newPage();
    await toConsentScreen(second);
    // The first tab finishes its consent while the second one's is the browser's current one.
    await first.click('#accept');
    await first.waitForURL(`${BASE}/oauth/callback?**`);
    assert.equal(await heading(first), 'Consent replaced');
    assert.match(await text(first, '#error'), /A newer consent was started in another tab or window/);
    await checkLayout(first, 'replaced');
    await second.click('#accept');
    await second.waitForURL(`${BASE}/oauth/callback?**`);
    assert.equal(await heading(second), 'Choose a Jira site');
    await second.check(`input[value="${SITES.acme}"]`);
    await second.click('#choose');
    await second.waitForURL(`${BASE}/oauth/select-site`);
    assert.equal(await heading(second), 'Jira connected');
    await first.close();
    await second.close();
  });

  await step('a denied consent', async () => {
    await toConsentScreen(page);
    await page.click('#cancel');
    await page.waitForURL(`${BASE}/oauth/callback?**`);
    assert.equal(await heading(page), 'Consent declined');
    assert.match(await text(page, '#error'), /Nothing was stored\./);
    await checkLayout(page, 'declined');
  });

  await step('a tampered consent cookie', async () => {
    await toConsentScreen(page);
    const cookies = await context.cookies(`${BASE}/oauth/callback`);
    const state = cookies.find((c) => c.name === 'jira_auth_state');
    assert.ok(state, 'the service set its consent cookie');
    const last = state.value.at(-1) === 'A' ? 'B' : 'A';
    await context.addCookies([{ ...state, value: state.value.slice(0, -1) + last }]);
    await page.click('#accept');
    await page.waitForURL(`${BASE}/oauth/callback?**`);
    assert.equal(await heading(page), 'Consent session not found');
    assert.match(await text(page, '#error'), /not issued by this service/);
  });

  await step('the picker form address opened directly is a page of ours', async () => {
    const response = await page.goto(`${BASE}/oauth/select-site`);
    assert.equal(response.status(), 405);
    assert.equal(await heading(page), 'Not available here');
    await checkLayout(page, 'method-not-allowed');
  });

  await context.close();
} finally {
  await Promise.allSettled(pending);
  fs.writeFileSync(path.join(OUT, 'seen.json'), JSON.stringify(seen, null, 1));
  await browser.close();
}

console.log(`browser walk: ${seen.length} responses of the service seen in ${Date.now() - started} ms`);
