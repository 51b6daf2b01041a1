// TabScout as an ES module: Llama 4 in a Web Worker on WebGPU, with OpenAI-style chat completions.
//   const engine = await createEngine();
//   const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
// docs/API.md documents every option, the response and chunk shapes, and the errors.
export { createEngine, defaultModelUrl, TabScoutEngine } from './engine.ts';
export { TabScoutError, type TabScoutErrorCode } from './errors.ts';
export type * from './types.ts';
