// Turns chat messages (text and decoded images) into what the model runs: prompt ids with each image expanded
// into its <|patch|> layout, and the images' preprocessed tiles in prompt order.
import { EngineError } from '../protocol/errors.ts';
import type { ModelSession, ImageTiles } from './session.ts';
import { loadImageProcessorConfig, type ImageProcessorConfig } from './image/processor-config.ts';
import { preprocessImage } from './image/preprocess.ts';
import { expandImagePlaceholders, withProcessorBos } from './image/prompt.ts';
import type { ModelFiles } from './model/safetensors.ts';
import type { TemplateMessage } from './text/tokenizer.ts';

/** RGBA (or RGB) pixels, row-major. */
export interface DecodedPixels {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export interface InputMessage {
  role: string;
  content: string;
  images?: DecodedPixels[];
}

export interface PromptInput {
  ids: number[];
  images: ImageTiles[];
}

export async function imageConfigFor(session: ModelSession, files: ModelFiles): Promise<ImageProcessorConfig | null> {
  const v = session.config.vision;
  if (!v) return null;
  return loadImageProcessorConfig(files, { patchSize: v.patchSize, pixelShuffleRatio: v.pixelShuffleRatio, imageSize: v.imageSize });
}

/** Applies the chat template (images as `<|image|>` placeholders before the message text), expands, tokenizes. */
export function buildPrompt(session: ModelSession, imageConfig: ImageProcessorConfig | null, messages: InputMessage[]): PromptInput {
  const templated: TemplateMessage[] = messages
    .filter((m) => !(m.role === 'system' && m.content.trim() === ''))
    .map((m) =>
      m.images?.length
        ? { role: m.role, content: [...m.images.map(() => ({ type: 'image' })), { type: 'text', text: m.content }] }
        : { role: m.role, content: m.content },
    );
  const decoded = messages.flatMap((m) => m.images ?? []);
  const prompt = session.tokenizer.applyChatTemplate(templated);
  if (decoded.length === 0) return { ids: session.tokenizer.encode(prompt), images: [] };
  if (!imageConfig) {
    throw new EngineError('bad-model', 'This model has no vision tower, so it cannot read images. Remove the image or load a multimodal Llama 4 model.');
  }
  const images = decoded.map((d) => preprocessImage(d.data, d.width, d.height, imageConfig));
  const expanded = expandImagePlaceholders(prompt, images, imageConfig.tokensPerTile);
  // HF's processor tokenizes with special tokens: image prompts start with BOS twice (see withProcessorBos)
  const ids = withProcessorBos(session.tokenizer.encode(expanded), session.config.text.bosTokenId);
  return { ids, images: images.map((im) => ({ pixelValues: im.pixelValues, tiles: im.tiles })) };
}
