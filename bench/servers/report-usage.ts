// Bench servers answer `usage` over their IPC channel with their own CPU time and memory.

export interface Usage {
  /** process.cpuUsage(), µs. */
  cpu: { user: number; system: number };
  memory: NodeJS.MemoryUsage;
}

export function reportUsage(): void {
  process.on('message', (message) => {
    if (message === 'usage') process.send!({ cpu: process.cpuUsage(), memory: process.memoryUsage() } satisfies Usage);
  });
}
