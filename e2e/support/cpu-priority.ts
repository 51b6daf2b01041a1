// On the CI machines WebGPU is SwiftShader: the "GPU" is the same two CPU cores that run the page, and the engine's
// worker thread competes with the page's main thread for them too. To measure the main thread's own tasks as they
// would be on a user's machine (a real GPU, the worker on another core), tests that time the main thread lower the
// CPU priority of this test's Chromium GPU process and of its pages' dedicated-worker threads. Only processes
// descended from this Node process are touched.
import { readFileSync, readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** Every process below `root`, from the parent ids in /proc/<pid>/stat. */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!parents.has(ppid)) parents.set(ppid, []);
    parents.get(ppid)!.push(Number(name));
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of parents.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** setpriority() on a thread id changes that thread only (Linux). */
function renice(tid: string): void {
  try {
    setPriority(Number(tid), 19);
  } catch {
    // the thread ended meanwhile
  }
}

/** Renices (to 19) every thread of the GPU process and every DedicatedWorker thread; returns the threads changed. */
export function deprioritizeGpuAndWorkers(): { gpuThreads: number; workerThreads: number } {
  let gpuThreads = 0;
  let workerThreads = 0;
  for (const pid of descendants(process.pid)) {
    const gpu = read(`/proc/${pid}/cmdline`).includes('--type=gpu-process');
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      if (gpu) {
        renice(tid);
        gpuThreads++;
      } else if (read(`/proc/${pid}/task/${tid}/comm`).startsWith('DedicatedWorker')) {
        renice(tid);
        workerThreads++;
      }
    }
  }
  return { gpuThreads, workerThreads };
}
