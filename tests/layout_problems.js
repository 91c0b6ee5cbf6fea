// What does not fit the window: evaluated by tests/test_playground_browser_fit.py, returns sentences.
() => {
  const out = [];
  const W = innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth > W) out.push(`the page scrolls sideways: ${root.scrollWidth} > ${W}`);
  const bar = [...document.querySelectorAll('.topbar-title, .persona, #acting-user, .mode-badge, .hood-toggle')]
    .map((el) => [el.className || el.id, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
  for (let i = 0; i < bar.length; i++) for (let j = i + 1; j < bar.length; j++) {
    const [a, ra] = bar[i], [b, rb] = bar[j];
    if (ra.left < rb.right - 1 && rb.left < ra.right - 1) out.push(`top bar: ${a} overlaps ${b}`);
  }
  for (const [name, r] of bar) if (r.right > W + 1 || r.left < 0) out.push(`top bar: ${name} is off screen`);
  for (const sel of ['#channel', '#thread:not([hidden])', '.sidebar', '.composer']) {
    const el = document.querySelector(sel);
    const r = el && el.getBoundingClientRect();
    if (r && (r.right > W + 1 || r.left < 0)) out.push(`${sel} is outside the window (${r.left}-${r.right})`);
  }
  for (const el of document.querySelectorAll('.msg-body, .bk-text, .bk-actions, pre.code')) {
    if (el.scrollWidth > el.clientWidth + 1) out.push(`cut off: ${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
  }
  return out;
}
