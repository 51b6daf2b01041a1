// npm run eval -- --model DIR --tasks FILE.jsonl [--weights q4|f32] [--max-new-tokens N] [--json]
// Runs every task of a JSONL file through the engine in Node (the same engine as verify), greedy, and scores the
// replies (cli/eval-score.ts). A task: {"id", "messages": [HF chat messages; an image part is
// {"type":"image","path":"relative/to/the/jsonl.png"}], "expect": {"contains_any": [...]} | {"text": "..."}}.
// With --json the LAST line is {"model","weights","tasks":[{"id","reply","score"}],"mean_score"}.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { createNodeGpu, releaseNodeGpu } from './node-gpu.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { scoreReply, type Expect } from './eval-score.ts';
import { ModelSession, type PromptMessage } from '../worker/session.ts';
import { imageKey } from '../worker/chat-input.ts';
import { decodePng } from '../worker/image/png.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';

type Part = { type: 'text'; text: string } | { type: 'image'; path: string };
interface Task {
  id: string;
  messages: { role: string; content: string | Part[] }[];
  expect: Expect;
}

export async function readTasks(file: string): Promise<Task[]> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const tasks: Task[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let t: Task;
    try {
      t = JSON.parse(line) as Task;
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof t.id !== 'string' || !Array.isArray(t.messages) || !t.expect) {
      throw new Error(`${file}:${i + 1}: a task needs "id", "messages" and "expect"`);
    }
    if (!('contains_any' in t.expect) && !('text' in t.expect)) throw new Error(`${file}:${i + 1}: "expect" needs "contains_any" or "text"`);
    tasks.push(t);
  });
  if (tasks.length === 0) throw new Error(`${file} holds no tasks`);
  return tasks;
}

/** HF-format messages -> the session's (text + images per message, images first as the template puts them). */
async function toInput(session: ModelSession, task: Task, base: string): Promise<PromptMessage[]> {
  const out: PromptMessage[] = [];
  for (const m of task.messages) {
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      continue;
    }
    const images = [];
    for (const p of m.content.filter((p): p is Extract<Part, { type: 'image' }> => p.type === 'image')) {
      const bytes = await readFile(resolve(base, p.path));
      images.push(await session.image(await imageKey(bytes), async () => decodePng(bytes, inflateSync)));
    }
    const text = m.content.filter((p): p is Extract<Part, { type: 'text' }> => p.type === 'text').map((p) => p.text).join('');
    out.push({ role: m.role, content: text, ...(images.length ? { images } : {}) });
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      tasks: { type: 'string' },
      weights: { type: 'string', default: 'q4' },
      'max-new-tokens': { type: 'string', default: '128' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.tasks) throw new Error('usage: npm run eval -- --model DIR --tasks FILE.jsonl [--weights q4|f32] [--max-new-tokens N] [--json]');
  const weights = values.weights as WeightFormat;
  if (weights !== 'f32' && weights !== 'q4') throw new Error(`--weights must be q4 or f32, got ${values.weights}`);
  const maxNewTokens = Number(values['max-new-tokens']);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error('--max-new-tokens must be a positive integer');
  const log = (s: string) => (values.json ? console.error(s) : console.log(s));

  const tasks = await readTasks(values.tasks);
  const base = dirname(resolve(values.tasks));
  const { ctx, adapterName } = await createNodeGpu();
  const files = new FsModelFiles(values.model);
  const session = await ModelSession.load(ctx, files, { weights, vision: true });
  log(`adapter: ${adapterName}; ${tasks.length} tasks; weights ${weights}`);
  const results: { id: string; reply: string; score: number; error?: string }[] = [];
  for (const t of tasks) {
    let reply = '', error: string | undefined;
    try {
      // every task from scratch: tasks are independent conversations
      const prompt = session.prompt(await toInput(session, t, base));
      const r = await session.generate(prompt, { maxNewTokens, temperature: 0, topK: 0, topP: 1, seed: 0 }, () => {}, () => false, { reuse: false });
      reply = r.text;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const score = error ? 0 : scoreReply(t.expect, reply);
    results.push({ id: t.id, reply, score, ...(error ? { error } : {}) });
    log(`${t.id}: ${score.toFixed(3)}  ${JSON.stringify(reply.slice(0, 100))}${error ? `  error: ${error}` : ''}`);
  }
  session.destroy();
  await releaseNodeGpu(ctx);
  const mean = results.reduce((s, r) => s + r.score, 0) / results.length;
  log(`mean score ${mean.toFixed(4)} over ${results.length} tasks (${values.tasks}, ${weights})`);
  if (values.json) console.log(JSON.stringify({ model: values.model, weights, tasks: results, mean_score: mean }));
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().then(
    (code) => process.exit(process.exitCode || code),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(2);
    },
  );
}
