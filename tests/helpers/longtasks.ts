// Main-thread tasks of a page, from the DevTools protocol's tracing: every task the page's main
// thread ran, with its wall time and its thread CPU time. On this 2-core machine SwiftShader (the
// GPU process's threads) and the other processes preempt the page's main thread, so a task's wall
// time (what PerformanceObserver 'longtask' reports) also counts the time it stood waiting for a
// core: the app's long-task bound is checked on CPU time, and on wall time for the tasks that were
// not preempted (tests/app_longtasks.test.ts, tests/app_live.test.ts).

import { expect } from 'vitest';
import type { PageSession } from './browser';

/** The budget: no main-thread task over this while a technique runs (ms). */
export const MAX_TASK_MS = 100;
/** A task whose wall time exceeds its CPU time by more than this (ms) stood waiting for a core. */
export const PREEMPTED_MS = 20;
/**
 * Chromium flags for a traced page: V8 records source positions while it compiles. By default it
 * leaves them out and, once the tracer asks for a script's positions (the timeline records JS
 * stacks), reparses the whole script on the main thread: 50 ms for the app's 850 KB bundle on
 * this machine, inside the task that evaluates it, a cost of the measurement that users without
 * DevTools open never pay.
 */
export const TRACE_FLAGS: readonly string[] = ['--js-flags=--no-enable-lazy-source-positions'];
/** The trace categories with the main thread's tasks (RunTask, with thread time) and the thread names. */
const TRACE_CATEGORIES = ['disabled-by-default-devtools.timeline', '__metadata'];
/** One main-thread task: start (ms from the trace's first task), wall time and thread CPU time (ms). */
export interface Task { start: number; wall: number; cpu: number }

interface TraceEvent { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; tdur?: number; args?: { name?: string } }

/** The tasks of the page's main threads (CrRendererMain of the 'Renderer' processes) in a trace. */
function mainThreadTasks(events: TraceEvent[]): Task[] {
  const renderers = new Set(events.filter((e) => e.name === 'process_name' && e.args?.name === 'Renderer').map((e) => e.pid));
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && renderers.has(e.pid)).map((e) => `${e.pid}:${e.tid}`));
  const runs = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && main.has(`${e.pid}:${e.tid}`));
  if (runs.length === 0) throw new Error('longtasks: the trace holds no RunTask event of the page\'s main thread');
  if (runs.every((e) => e.tdur === undefined)) throw new Error('longtasks: the trace has no thread times (tdur): this platform cannot tell CPU time from wall time');
  const t0 = Math.min(...runs.map((e) => e.ts));
  // A task without a thread time (Chrome leaves it out on tasks of a microsecond or so) counts its wall time as CPU time.
  return runs.map((e) => ({ start: (e.ts - t0) / 1000, wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? e.dur ?? 0) / 1000 }));
}

/** Run `fn` with the browser tracing; the main-thread tasks it took. */
export async function traced(s: PageSession, fn: () => Promise<void>): Promise<Task[]> {
  await s.page.tracing.start({ categories: TRACE_CATEGORIES });
  let trace: Uint8Array | undefined;
  try {
    await fn();
  } finally {
    trace = await s.page.tracing.stop();
  }
  if (!trace) throw new Error('longtasks: tracing returned nothing');
  return mainThreadTasks((JSON.parse(Buffer.from(trace).toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents);
}

/** Tasks over 50 ms, as '[start: wall W, cpu C]' for failure messages. */
export function longTasks(tasks: readonly Task[]): string {
  return tasks.filter((t) => t.wall > 50 || t.cpu > 50).map((t) => `[${t.start.toFixed(0)} ms: wall ${t.wall.toFixed(0)}, cpu ${t.cpu.toFixed(0)}]`).join(' ');
}

/** The longest task's CPU time, and the longest wall time among tasks not preempted (ms). */
export function longest(tasks: readonly Task[]): { cpu: number; wall: number; unpreemptedWall: number } {
  return {
    cpu: Math.max(0, ...tasks.map((t) => t.cpu)),
    wall: Math.max(0, ...tasks.map((t) => t.wall)),
    unpreemptedWall: Math.max(0, ...tasks.filter((t) => t.wall - t.cpu <= PREEMPTED_MS).map((t) => t.wall)),
  };
}

/** The bound: no task over MAX_TASK_MS of main-thread CPU, nor of wall time unless preempted. */
export function expectNoLongTask(what: string, tasks: readonly Task[]): void {
  const l = longest(tasks);
  expect(l.cpu, `${what}: longest main-thread task (CPU ms); tasks over 50 ms: ${longTasks(tasks)}`).toBeLessThanOrEqual(MAX_TASK_MS);
  expect(l.unpreemptedWall, `${what}: longest main-thread task not preempted (wall ms); tasks over 50 ms: ${longTasks(tasks)}`).toBeLessThanOrEqual(MAX_TASK_MS);
}
