// The sandbox's notion of "now". Credentials expire, snapshots complete and metric series
// end by this clock; tests move it with advance(). Request-signature freshness is checked
// against the real wall clock instead (the SDK signs with real time).

export interface Clock {
  now(): number;
  advance(ms: number): void;
  set(epochMs: number): void;
}

export function createClock(start?: number): Clock {
  let offset = start === undefined ? 0 : start - Date.now();
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
    set: (epochMs) => {
      offset = epochMs - Date.now();
    },
  };
}
