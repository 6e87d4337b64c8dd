/**
 * How a worker process is launched: its Node flags and environment. The supervisor (supervise.ts) starts
 * every worker process this way (`durable-inbox worker`, the `worker` container, `npm start` on a real
 * Postgres), and the scale-out bench starts its workers the same way.
 *
 * With Node's defaults a worker's resident memory grows to about 500 MiB during a 10,000-message import,
 * though what it holds live is far less: V8 lets the heap grow up to fourfold after each full collection
 * while memory is plentiful, its young generation takes 3 × 16 MB per isolate (the worker has two, the
 * main thread and the workflow thread), and glibc gives each of the native core's threads its own malloc
 * arena. So, by default:
 *  - `--heap-growing-percent=20`: after a full collection the heap may grow by a fifth before the next
 *    (WORKER_HEAP_GROWING_PERCENT). No limit: a large message still gets the heap it needs.
 *  - `--max-semi-space-size=4` (WORKER_MAX_SEMI_SPACE_MB): young collections more often, each smaller.
 *  - `MALLOC_ARENA_MAX=2`, unless the environment sets it.
 * An operator's NODE_OPTIONS still decides the semi-space when it names one (a flag on the command line
 * would override it).
 */

export interface WorkerMemorySettings {
  /** 0: V8's own growing factor. */
  heapGrowingPercent: number;
  /** 0: Node's default. */
  maxSemiSpaceMb: number;
}

export interface WorkerLaunch {
  /** Node flags, before the script. */
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
}

export function workerLaunch(memory: WorkerMemorySettings, env: NodeJS.ProcessEnv): WorkerLaunch {
  const nodeOptions = env.NODE_OPTIONS ?? '';
  const nodeArgs: string[] = [];
  if (memory.heapGrowingPercent > 0) nodeArgs.push(`--heap-growing-percent=${memory.heapGrowingPercent}`);
  if (memory.maxSemiSpaceMb > 0 && !/--max[-_]semi[-_]space[-_]size/.test(nodeOptions)) {
    nodeArgs.push(`--max-semi-space-size=${memory.maxSemiSpaceMb}`);
  }
  return { nodeArgs, env: { MALLOC_ARENA_MAX: '2', ...env } };
}
