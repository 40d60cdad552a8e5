// What a resident types, and how a test types it into the declaration form.

import assert from 'node:assert/strict';

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** A valid 18-digit resident ID number (GB 11643 check digit). */
export function idNumber(prefix = '621102', birth = '19560315', seq = 1) {
  const body = `${prefix}${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, c, i) => s + Number(c) * ID_WEIGHTS[i], 0);
  return body + ID_CHECK[sum % 11];
}

let serial = 0;
/** A fresh applicant: distinct ID number and phone each call (the server dedups by ID). */
export function applicant(over = {}) {
  serial += 1;
  const n = serial + (process.pid % 500) * 10;
  return {
    applicant_name: '马桂兰',
    phone: `139${String(31000000 + n).padStart(8, '0')}`,
    id_number: idNumber('621102', '19490315', n % 1000),
    address: '鲁家沟镇南川村3社12号',
    household_size: '4',
    risk_types: ['illness', 'drinking_water'],
    description: '老伴去年做了心脏手术，自费花了三万多元，家里吃水要到两里外去挑。',
    consent: true,
    ...over,
  };
}

export const TEXT_FIELDS = ['applicant_name', 'phone', 'id_number', 'address', 'household_size', 'description'];

/** Type the applicant into the form (clicking, as a person does). */
export async function fillForm(page, a) {
  for (const f of TEXT_FIELDS) {
    await page.locator(`#${f}`).fill(a[f]);
  }
  for (const r of a.risk_types) {
    await page.locator(`input[name=risk_types][value=${r}]`).check();
  }
  if (a.consent) await page.locator('#consent').check();
}

/** Submit and wait for the next page to load (works with JavaScript on or off). */
export async function submit(page, selector = '#submit') {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 120_000 }), page.locator(selector).click()]);
}

/** Every field still holds what was typed. */
export async function assertFormHolds(page, a) {
  for (const f of TEXT_FIELDS) {
    assert.equal(await page.locator(`#${f}`).inputValue(), a[f], `field ${f} lost what was typed`);
  }
  for (const r of a.risk_types) {
    assert.ok(await page.locator(`input[name=risk_types][value=${r}]`).isChecked(), `risk ${r} no longer ticked`);
  }
  const ticked = await page.locator('input[name=risk_types]:checked').evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(ticked.sort(), [...a.risk_types].sort(), 'risk types ticked changed');
  assert.equal(await page.locator('#consent').isChecked(), a.consent, 'consent changed');
}

/** The error shown beside a field ('' when none). */
export async function fieldError(page, field) {
  const err = page.locator(`[data-field=${field}] .err`);
  return (await err.count()) ? (await err.first().innerText()).trim() : '';
}
