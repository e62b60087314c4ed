// The app is keyboard reachable with labelled controls (issue: "Keyboard reachable, labelled
// controls"), end to end in Chromium (headless, WebGPU on SwiftShader):
//   - every technique panel, opened by its URL, exposes no interactive element (button, text box,
//     combo box, spin button, check box, slider, link) without an accessible name in Chromium's
//     accessibility tree (which sees through the shadow roots);
//   - from the top of the page, Tab alone reaches the network picker, a technique link, the
//     panel's option controls and its Run button, and Enter on Run runs the panel to done.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SerializedAXNode } from 'puppeteer-core';
import { TECHNIQUES } from '../engine/techniques/index';
import { openPage, pollPage, type PageSession } from './helpers/browser';
import { SMALL } from './helpers/panels';

const APP = "document.querySelector('cnn-app')";
const PANEL = `${APP}.shadowRoot?.querySelector('cnn-technique-panel')`;
/** Roles a user operates; each must have a name a screen reader can say. */
const INTERACTIVE = new Set(['button', 'textbox', 'combobox', 'spinbutton', 'checkbox', 'slider', 'link', 'listbox', 'radio', 'searchbox', 'switch', 'tab', 'menuitem']);
/** Tab presses allowed to walk the page once (the sample thumbnails alone are ~20 stops). */
const MAX_TABS = 250;

let session: PageSession | null = null;

function page(): PageSession {
  if (!session) throw new Error('app_a11y test: the page did not open (see the beforeAll error)');
  return session;
}

/** Interactive nodes of the accessibility tree with an empty name, as 'role (description)'. */
function interactive(node: SerializedAXNode | null, out: SerializedAXNode[] = []): SerializedAXNode[] {
  if (!node) return out;
  if (INTERACTIVE.has(node.role)) out.push(node);
  for (const c of node.children ?? []) interactive(c, out);
  return out;
}

function unnamed(node: SerializedAXNode | null, out: string[] = []): string[] {
  if (!node) return out;
  if (INTERACTIVE.has(node.role) && !(node.name ?? '').trim()) out.push(`${node.role}${node.description ? ` (${node.description})` : ''}${node.value !== undefined ? ` value=${String(node.value)}` : ''}`);
  for (const c of node.children ?? []) unnamed(c, out);
  return out;
}

/** The focused element through the shadow roots, described as 'tag.class#id|name|data-technique'. */
const FOCUSED = `(() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a || a === document.body) return '';
  const name = (a.getAttribute('aria-label') || a.labels?.[0]?.textContent || a.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  return a.tagName.toLowerCase() + (a.className ? '.' + String(a.className).split(' ')[0] : '') + (a.id ? '#' + a.id : '') + '|' + name + '|' + (a.dataset?.technique ?? '');
})()`;

async function openPanel(s: PageSession, name: string): Promise<void> {
  const q = new URLSearchParams({ technique: name, model: 'tinyvgg', image: 'boat_1', ...(SMALL[name] ?? {}) });
  await s.page.evaluate(`window.cnnvis.open(${JSON.stringify(`?${q}`)})`);
  await until(s, `['done', 'error'].includes(${PANEL}?.dataset.state)`, `the ${name} panel finishing`);
}

/** Poll `predicate` in the page (console errors of a technique are not this test's subject). */
const until = (s: PageSession, predicate: string, what: string, timeoutMs = 90_000) => pollPage(s, 'app_a11y test', predicate, what, { timeoutMs });

beforeAll(async () => {
  session = await openPage('/?model=tinyvgg&image=koala_1');
  await until(session, `${APP}?.dataset.state === 'done'`, 'the page classifying koala_1');
});

afterAll(async () => {
  await session?.close();
  session = null;
});

describe('app accessibility (Chromium, WebGPU on SwiftShader)', () => {
  it.each(TECHNIQUES.filter((t) => !t.name.endsWith('-live')).map((t) => [t.name]))('every control of the %s panel has an accessible name', async (name) => {
    const s = page();
    await openPanel(s, name);
    const tree = await s.page.accessibility.snapshot({ interestingOnly: true });
    const missing = unnamed(tree);
    // The tree must see into the shadow roots: at least one operable node per option control.
    const controls = (await s.page.evaluate(`${PANEL}.shadowRoot.querySelectorAll('cnn-option-control').length`)) as number;
    expect(interactive(tree).length, `${name}: interactive nodes in the accessibility tree`).toBeGreaterThanOrEqual(controls + 1);
    expect(missing, `${name}: interactive elements without an accessible name`).toEqual([]);
  });

  it('Tab alone reaches the network picker, a technique link, the options and Run; Enter on Run runs the panel', async () => {
    const s = page();
    await openPanel(s, 'saliency');
    await s.page.evaluate(`document.activeElement?.blur?.()`);
    await s.page.mouse.click(2, 2);
    const seen: string[] = [];
    let run = -1;
    for (let i = 0; i < MAX_TABS && run < 0; i++) {
      await s.page.keyboard.press('Tab');
      const f = (await s.page.evaluate(FOCUSED)) as string;
      seen.push(f);
      if (/^button\.run\|/.test(f)) run = i;
    }
    const report = `focus order:\n  ${seen.join('\n  ')}`;
    expect(seen.some((f) => f.startsWith('select#model|')), `the network picker is reachable\n${report}`).toBe(true);
    expect(seen.some((f) => /^a[.|#].*\|(gradcam|occlusion|filters)$/.test(f) || /\|gradcam$/.test(f)), `a technique link is reachable\n${report}`).toBe(true);
    expect(seen.some((f) => /^(select|input)[.#|]/.test(f) && !f.startsWith('select#model|') && !f.startsWith('input.file') && !/type=file/.test(f)), `an option control is reachable\n${report}`).toBe(true);
    expect(run, `the Run button is reachable by Tab\n${report}`).toBeGreaterThanOrEqual(0);
    await s.page.evaluate(`${APP}.shadowRoot.querySelector('cnn-technique-panel').dataset.state = 'idle'`);
    await s.page.keyboard.press('Enter');
    await until(s, `${PANEL}.dataset.state === 'done'`, 'saliency running from the keyboard');
  }, 120_000);
});
