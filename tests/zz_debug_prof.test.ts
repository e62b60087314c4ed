import { it } from 'vitest';
import { openPage } from './helpers/browser';
it('debug', async () => {
  const which = process.env.DBG_URL ?? '?technique=class-vis-live&model=tinyvgg&image=boat_1&steps=60';
  const s = await openPage('/?model=tinyvgg&image=boat_1');
  await new Promise((r) => setTimeout(r, 6000));
  const cdp = await s.page.createCDPSession();
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await s.page.evaluate(`(() => { window.__lt = []; new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__lt.push([Math.round(e.startTime), Math.round(e.duration)]))).observe({ type: 'longtask' }); })()`);
  await cdp.send('Profiler.start');
  await s.page.evaluate(`void window.cnnvis.open(${JSON.stringify(which)})`);
  await new Promise((r) => setTimeout(r, Number(process.env.DBG_MS ?? 12000)));
  const { profile } = (await cdp.send('Profiler.stop')) as any;
  console.log('LONG', JSON.stringify(await s.page.evaluate('window.__lt')));
  const dt = profile.timeDeltas as number[];
  const self = new Map<number, number>();
  profile.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
  const rows = profile.nodes.map((n: any) => [self.get(n.id) ?? 0, `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`]);
  const agg = new Map<string, number>();
  for (const [t, k] of rows) agg.set(k, (agg.get(k) ?? 0) + t);
  console.log('TOP\n' + [...agg].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, t]) => `${(t / 1000).toFixed(0)}ms ${k}`).join('\n'));
  const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const idle = new Set(profile.nodes.filter((n: any) => n.callFrame.functionName === '(idle)').map((n: any) => n.id));
  // contiguous busy windows
  let cur: number[] = [], curT = 0; const wins: [number, number[]][] = [];
  profile.samples.forEach((id: number, i: number) => {
    if (idle.has(id)) { if (curT > 0) wins.push([curT, cur]); cur = []; curT = 0; } else { cur.push(id); curT += dt[i] ?? 0; }
  });
  wins.sort((a, b) => b[0] - a[0]);
  for (const [t, ids] of wins.slice(0, 3)) {
    const st = new Map<string, number>();
    for (const id of ids) {
      const fr: string[] = [];
      let n: any = byId.get(id);
      while (n && fr.length < 40) { if (n.callFrame.url) fr.push(`${n.callFrame.functionName || 'anon'}@${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`); n = byId.get(parent.get(n.id)!); }
      const k = (byId.get(id) as any).callFrame.functionName + ' <- ' + fr.slice(0, 6).join(' < ');
      st.set(k, (st.get(k) ?? 0) + 1);
    }
    console.log(`WINDOW ${(t / 1000).toFixed(0)}ms\n` + [...st].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, c]) => `  ${c} ${k}`).join('\n'));
  }
  await s.close();
}, 120000);
