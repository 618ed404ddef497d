// Process shutdown, in one place: cleanup functions run in reverse order of registration on SIGINT or
// SIGTERM (then the process exits 130/143), and can be run explicitly when a command finishes.
type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let installed = false;
let running: Promise<void> | undefined;

export function onShutdown(fn: Cleanup): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function shutdown(): Promise<void> {
  running ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch {
        // keep going: every resource gets its chance to close
      }
    }
  })();
  await running;
  running = undefined;
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const handle = (signal: NodeJS.Signals, code: number) => () => {
    void shutdown().finally(() => process.exit(code));
    // A second signal while shutting down exits at once.
    process.once(signal, () => process.exit(code));
  };
  process.once('SIGINT', handle('SIGINT', 130));
  process.once('SIGTERM', handle('SIGTERM', 143));
}
