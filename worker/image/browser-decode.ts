// Decoding pasted, dropped or picked image files in a browser (Worker): createImageBitmap, downscaled while
// decoding when the image is huge, so neither a full-size float buffer nor a gigantic RGBA copy is made.
import { ImageError } from './errors.ts';
import { readImageSize } from './image-size.ts';
import type { DecodedPixels } from './preprocess.ts';

/** Larger images are downscaled during decoding (Llama 4's largest canvas side is 16 tiles × 336 px = 5376). */
export const MAX_DECODED_PIXELS = 5376 * 5376;

export async function decodeImageBlob(blob: Blob, name = 'image'): Promise<DecodedPixels> {
  if (blob.size === 0) throw new ImageError(`${name} is empty.`);
  const head = new Uint8Array(await blob.slice(0, 64 * 1024).arrayBuffer());
  const size = readImageSize(head);
  if (size && (size.width === 0 || size.height === 0)) throw new ImageError(`${name} has no pixels (${size.width}×${size.height}).`);
  let options: ImageBitmapOptions = { premultiplyAlpha: 'none', colorSpaceConversion: 'none' };
  let width = size?.width ?? 0;
  let height = size?.height ?? 0;
  if (size && size.width * size.height > MAX_DECODED_PIXELS) {
    const scale = Math.sqrt(MAX_DECODED_PIXELS / (size.width * size.height));
    width = Math.max(1, Math.floor(size.width * scale));
    height = Math.max(1, Math.floor(size.height * scale));
    options = { ...options, resizeWidth: width, resizeHeight: height, resizeQuality: 'high' };
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, options);
  } catch {
    throw new ImageError(`${name} could not be read as an image (the file is corrupt or in a format this browser cannot decode). Try a PNG or JPEG.`);
  }
  width = bitmap.width;
  height = bitmap.height;
  if (width === 0 || height === 0) throw new ImageError(`${name} has no pixels (${width}×${height}).`);
  if (width * height > MAX_DECODED_PIXELS * 1.01) throw new ImageError(`${name} is too large to decode (${width}×${height}).`);
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d');
  if (!g) throw new ImageError('This browser cannot draw images in a worker (no OffscreenCanvas 2D).');
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { width, height, data: g.getImageData(0, 0, width, height).data };
}
