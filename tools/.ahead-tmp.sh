export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json SUMMARY=/dev/null
source tools/device-steps.sh >/dev/null 2>&1; unpack_gpu_tools $PWD/.gpu-model /tmp >/dev/null 2>&1
B=".gpu-model/bench.mjs"; C=".gpu-model/configs/Llama-4-Scout-17B-16E-Instruct.config.json"
nvidia-smi --query-gpu=name --format=csv,noheader
for a in "" --weights-ahead-2; do
  echo "== q4 $a"; timeout 100 /tmp/node $B --only q4 $a 2>&1 | grep -E "^q4 |roofline:"
  echo "== experts $a"; timeout 100 /tmp/node $B --experts $a 2>&1 | grep -E "^(gate|down)|roofline"
done
for a in "" --weights-ahead-2 "" --weights-ahead-2; do
  echo "== model $a"; timeout 120 /tmp/node $B model --config $C --prompt 64 --tokens 32 $a 2>&1 | grep -iE "decode|busy|ratio" | head -8
done
