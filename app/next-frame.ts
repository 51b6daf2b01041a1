// Runs `work` at the next animation frame, or in 100 ms in a background tab (where requestAnimationFrame does not
// run). Returns a function that cancels it. Streaming replies render through this: at most one render a frame
// however fast tokens come.
export function nextFrame(work: () => void): () => void {
  if (document.hidden) {
    const timer = setTimeout(work, 100);
    return () => clearTimeout(timer);
  }
  const frame = requestAnimationFrame(work);
  return () => cancelAnimationFrame(frame);
}
