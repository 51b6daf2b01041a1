// On the CI machines WebGPU is SwiftShader: the "GPU" is the same two CPU cores that run the page, and the engine's
// worker thread competes with the page's main thread for them too. To measure the main thread's own tasks as they
// would be on a user's machine (a real GPU, the worker on another core), tests that time the main thread lower the
// CPU priority of this test's Chromium GPU process and of its pages' dedicated-worker threads. Only processes
// descended from this Node process are touched.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

function children(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const child of children(pid)) out.push(child, ...descendants(child));
  return out;
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

function renice(tid: string): void {
  try {
    execFileSync('renice', ['-n', '19', '-p', tid], { stdio: 'ignore' });
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
