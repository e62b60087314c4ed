// Page entry. The app (app_main.ts: the engine, the techniques, the Lit elements) loads as a chunk
// of its own, so that evaluating it and the page's first layout are separate main-thread tasks
// (together they were one task of 90-130 ms of CPU on a 2-core machine without a GPU).

import('./app_main').catch((e: unknown) => {
  const msg = document.createElement('p');
  msg.setAttribute('role', 'alert');
  msg.textContent = `cnnvis could not load: ${e instanceof Error ? e.message : String(e)}`;
  document.body.prepend(msg);
  throw e;
});
