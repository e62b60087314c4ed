import { Runtime } from '/work/main/engine/runtime';
const rt = await Runtime.create();
await rt.sync();
for (let i = 0; i < 3; i++) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  const c = process.cpuUsage(c0);
  console.log('idle 100ms: process cpu ms', ((c.user + c.system) / 1000).toFixed(2), 'wall', (performance.now() - t0).toFixed(1));
  const c1 = process.cpuUsage(); let x = 0; const t1 = performance.now(); while (performance.now() - t1 < 5) x++;
  const d = process.cpuUsage(c1);
  console.log('busy 5ms: process cpu ms', ((d.user + d.system) / 1000).toFixed(2));
}
process.exit(0);
