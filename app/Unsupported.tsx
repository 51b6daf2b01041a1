/** Shown instead of the chat when WebGPU is missing or the adapter is too limited. */
export function Unsupported({ code, message }: { code: 'no-webgpu' | 'gpu-limits'; message: string }) {
  return (
    <section role="alert" className="unsupported" data-code={code}>
      <h2>{code === 'no-webgpu' ? 'WebGPU is not available in this browser' : 'Your GPU is too limited for TabScout'}</h2>
      <p>{message}</p>
      <p>TabScout runs the language model on your own GPU, inside this tab; nothing is sent to a server.</p>
    </section>
  );
}
