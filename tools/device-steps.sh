# Shared by the device scripts (tools/peers-device.sh, model-device.sh, gemm-device.sh): sourced after they set
# OUT, SUMMARY and DEADLINE (seconds from START after which no step starts; a step gets at most what is left).
#   note TEXT...             one timestamped line, to the terminal and $SUMMARY
#   step NAME SECONDS CMD... runs CMD (an exported function) with a time limit, its output in $OUT/NAME.log; a failure
#                            is reported with its exit code and the log's tail, and returns non-zero
#   unpack_gpu_tools DIR WORK  the Vulkan loader's debs, Node (into WORK) and Dawn for the `webgpu` package, from DIR
START=$SECONDS
note() { echo "[$((SECONDS - START)) s] $*" | tee -a "$SUMMARY"; }

step() {
  local name=$1 limit=$2 t0=$SECONDS rc left
  shift 2
  left=$((DEADLINE - (SECONDS - START)))
  if [ "$left" -lt 15 ]; then
    note "skipped $name: only ${left} s left before the deadline"
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  note "start $name (limit ${limit} s)"
  # the command is a function run by a bash child, which timeout can stop
  timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    note "ok $name in $((SECONDS - t0)) s"
  else
    note "FAILED $name: exit $rc$([ $rc -eq 124 ] && echo ' (time limit)') after $((SECONDS - t0)) s; last lines of $name.log:"
    tail -n 25 "$OUT/$name.log" | sed 's/^/    /' | tee -a "$SUMMARY"
  fi
  return $rc
}

unpack_gpu_tools() {
  local dir=$1 work=$2 f
  for f in "$dir"/*.deb; do dpkg -x "$f" /; done
  ldconfig
  xz -d < "$dir/node.xz" > "$work/node" && chmod +x "$work/node"
  mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"
  xz -d < "$dir/dawn.node.xz" > "$dir/node_modules/webgpu/dist/linux-x64/dawn.node"
  "$work/node" --version
}
