// Opens the check page in Debian's chromium (headless, through puppeteer-core), waits until the
// page is done, prints {state, verdict, headline, sent} as one JSON line; optional screenshot.
// Usage: node drive.mjs URL [SCREENSHOT.png]   (CHROMIUM=/usr/bin/chromium by default)
import puppeteer from 'puppeteer-core';

const [url, shot] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'],
});
let code = 0;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 760, height: 1100, deviceScaleFactor: 1 });
  await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  await page.waitForFunction(() => document.body.dataset.state !== 'running', { timeout: 45000 });
  const out = await page.evaluate(() => ({
    state: document.body.dataset.state,
    verdict: document.getElementById('verdict').dataset.verdict,
    headline: document.getElementById('headline').textContent,
    sent: document.body.dataset.sent ?? null,
    send_status: document.getElementById('send-status').textContent,
    notes: [...document.querySelectorAll('#notes li')].map((li) => li.textContent),
    checks: Object.fromEntries([...document.querySelectorAll('#checks tbody tr')]
      .map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])),
  }));
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`drive.mjs: ${e.message}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
