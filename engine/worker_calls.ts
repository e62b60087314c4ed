// Calls to a page's module worker, for work that must not run on the page's main thread (OpenCV's
// GrabCut, JPEG decoding). Each call posts { id, request } and resolves with the worker's
// { id, result } or rejects with its { id, error }. The worker starts on the first call and stays;
// if it fails (it cannot be loaded, or throws outside a call), the calls in flight reject with a
// WorkerLostError (the caller may then do the work in this thread) and the next call starts a new
// one. The worker side is serveWorkerCalls.

/** A call's worker failed before answering it. */
export class WorkerLostError extends Error {}

interface Call<Res> {
  done(result: Res): void;
  fail(error: Error): void;
}

type Reply<Res> = { id: number; result: Res } | { id: number; error: string };

/** Whether this is a page that can run module workers (Node cannot: callers do the work in-thread there). */
export const canUseWorkers = (): boolean => typeof document !== 'undefined' && typeof Worker === 'function';

export class WorkerCalls<Req, Res> {
  private worker: Worker | null = null;
  private readonly calls = new Map<number, Call<Res>>();
  private next = 0;

  /**
   * @param start creates the worker (`new Worker(new URL('./x_worker.ts', import.meta.url), { type: 'module' })`,
   *   written at the call site so that the bundler emits the worker).
   * @param what the worker, for the WorkerLostError message ("the OpenCV worker failed (...)").
   */
  constructor(
    private readonly start: () => Worker,
    private readonly what: string,
  ) {}

  /** Post `request` (with `transfer` moved, not copied) and wait for the worker's answer. */
  call(request: Req, transfer: Transferable[] = []): Promise<Res> {
    const w = this.worker ?? this.open();
    const id = this.next++;
    return new Promise((done, fail) => {
      this.calls.set(id, { done, fail });
      w.postMessage({ id, request }, transfer);
    });
  }

  private open(): Worker {
    const w = this.start();
    w.onmessage = (e: MessageEvent<Reply<Res>>) => {
      const call = this.calls.get(e.data.id);
      this.calls.delete(e.data.id);
      if ('result' in e.data) call?.done(e.data.result);
      else call?.fail(new Error(e.data.error ?? 'the worker answered nothing'));
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const lost = new WorkerLostError(`${this.what} failed (${e.message || 'it could not be loaded'})`);
      for (const c of this.calls.values()) c.fail(lost);
      this.calls.clear();
      w.terminate();
      if (this.worker === w) this.worker = null;
    };
    this.worker = w;
    return w;
  }
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; request: unknown }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/**
 * In a worker: answer WorkerCalls' messages with `handle`, which returns the result and what of
 * it to transfer; a throw answers with its message.
 */
export function serveWorkerCalls<Req, Res>(handle: (request: Req) => Promise<{ result: Res; transfer?: Transferable[] }> | { result: Res; transfer?: Transferable[] }): void {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = async (e) => {
    const { id, request } = e.data;
    try {
      const { result, transfer } = await handle(request as Req);
      scope.postMessage({ id, result }, transfer ?? []);
    } catch (err) {
      scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
    }
  };
}
