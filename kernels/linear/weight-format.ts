// How a linear layer's weights are held on the GPU: f32, or int4 with GGUF Q4_0 numerics (q4-format.ts).
// The one name for it everywhere: kernels, the model, the store, the UI's load options.
export type WeightFormat = 'f32' | 'q4';
