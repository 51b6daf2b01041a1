// Images attached to the message being written: picked from the clipboard, a drop or the file picker. Files that
// are not images, and images that cannot be decoded (checkImage), are refused here with a message; the worker checks
// again when it reads them (its 'bad-image' error names the image as `attachmentName` does).
import type { ChatImage } from '../protocol/api.ts';

export interface Attachment {
  id: number;
  file: Blob;
  /** the file's own name ('image.png' for most pasted screenshots) */
  fileName: string;
}

let nextAttachmentId = 1;

const IMAGE_EXTENSION = /\.(png|jpe?g|gif|webp|bmp|avif)$/i;

/** An image by its MIME type, or, when the system gave none, by its extension. */
export function isImageFile(file: File): boolean {
  return file.type ? file.type.startsWith('image/') : IMAGE_EXTENSION.test(file.name);
}

/** Files carried by a paste or a drop (items first: some browsers list a pasted image only there). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const fromItems = [...(data.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter((file): file is File => file !== null);
  return fromItems.length > 0 ? fromItems : [...(data.files ?? [])];
}

/** Splits files into new attachments and a message about the ones that are not images (null when none). */
export function attach(files: File[]): { added: Attachment[]; refused: string | null } {
  const added: Attachment[] = [];
  const rejected: string[] = [];
  for (const file of files) {
    if (isImageFile(file)) added.push({ id: nextAttachmentId++, file, fileName: file.name || 'image' });
    else rejected.push(file.name || 'unnamed file');
  }
  const refused =
    rejected.length === 0
      ? null
      : rejected.length === 1
        ? `That file is not an image: ${rejected[0]}. Attach a PNG, JPEG, WebP or GIF.`
        : `Those files are not images: ${rejected.join(', ')}. Attach PNG, JPEG, WebP or GIF files.`;
  return { added, refused };
}

/** How the UI and the worker's error messages name the nth image (1-based) of a message. */
export function attachmentName(index: number, fileName: string): string {
  return `Image ${index} (${fileName})`;
}

export function toChatImages(attachments: Attachment[]): ChatImage[] {
  return attachments.map((a, i) => ({ data: a.file, name: attachmentName(i + 1, a.fileName) }));
}

/** True while a drag carries files (not text or links). */
export function dragHasFiles(data: DataTransfer | null): boolean {
  return !!data && [...data.types].includes('Files');
}

/**
 * Checks that an attached image can be decoded, when it is attached (not after Send): its size from the header,
 * then a small decode by the browser. Resolves with null when it is fine, else with the message to show (worded
 * as the worker words the same problems).
 */
export async function checkImage(file: Blob, name: string): Promise<string | null> {
  if (file.size === 0) return `${name} is empty.`;
  const size = pngSize(new Uint8Array(await file.slice(0, 24).arrayBuffer()));
  if (size && (size.width === 0 || size.height === 0)) return `${name} has no pixels (${size.width}×${size.height}).`;
  try {
    // decoded down to a few pixels: the check costs little memory even for a huge screenshot
    const bitmap = await createImageBitmap(file, { resizeWidth: 8, resizeHeight: 8 });
    bitmap.close();
    return null;
  } catch {
    return `${name} could not be read as an image (the file is corrupt or in a format this browser cannot decode). Try a PNG or JPEG.`;
  }
}

/** Width and height from a PNG's header (IHDR), or null for other files: a 0×0 PNG cannot be decoded, and saying
 * "no pixels" is more use than "corrupt". */
function pngSize(head: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47];
  if (head.length < 24 || signature.some((byte, i) => head[i] !== byte)) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
