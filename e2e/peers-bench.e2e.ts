// `npm run bench -- peers --quick` in Chromium (SwiftShader): TabScout and transformers.js' web build (onnxruntime-web,
// WebGPU) on tiny-scout and its ONNX export in one page. The report must be complete for both engines, and both must
// greedy-generate Hugging Face's q4 reference tokens for the chat case. Speed is printed, never asserted.
import { test } from 'node:test';
import { checkQuickReport, runPeersBench } from '../testing/peers-report-check.ts';

test('bench peers --quick (Chromium): both engines report every figure and generate the q4 reference tokens', () => {
  const report = runPeersBench(['--quick']);
  checkQuickReport(report, 'chromium', true);
  console.log(`decode TabScout / transformers.js on SwiftShader: ${report.ratios.decode!.toFixed(2)}×`);
});
