// npm run export-onnx -- MODEL_DIR OUT_DIR [--external-data]: a Llama 4 checkpoint → a transformers.js folder
// (config.json, tokenizer files, onnx/model_q4.onnx with MatMulNBits int4 weights; see export.ts).
import { exportOnnxModel } from './export.ts';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const unknown = args.filter((a) => a.startsWith('--') && a !== '--external-data');
if (positional.length !== 2 || unknown.length) {
  console.error('usage: npm run export-onnx -- MODEL_DIR OUT_DIR [--external-data]');
  console.error('  MODEL_DIR: a Hugging Face Llama 4 checkpoint folder (config.json, model*.safetensors, tokenizer.json)');
  console.error('  --external-data: keep the weights in onnx/model_q4.onnx_data (automatic above ~1.8 GB)');
  process.exit(2);
}
const started = performance.now();
const result = await exportOnnxModel(positional[0], positional[1], { externalData: args.includes('--external-data') ? true : 'auto' });
const mb = (n: number) => (n / 1e6).toFixed(1);
console.log(`${result.onnxPath}: ${mb(result.onnxBytes)} MB${result.dataPath ? `, ${result.dataPath}: ${mb(result.dataBytes)} MB` : ''} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
