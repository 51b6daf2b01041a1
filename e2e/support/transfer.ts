// Real clipboard and drag-and-drop events in the page: a DataTransfer built in the page, carrying files whose
// bytes come from Node, dispatched on an element as Chromium would on Ctrl+V or a drop.
import type { Locator } from 'playwright-core';

export interface TransferFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

export interface TransferContent {
  files?: TransferFile[];
  /** text/plain on the clipboard */
  text?: string;
}

interface WireContent {
  files: { name: string; type: string; base64: string }[];
  text?: string;
}

function wire({ files = [], text }: TransferContent): WireContent {
  return { files: files.map((f) => ({ name: f.name, type: f.type, base64: Buffer.from(f.bytes).toString('base64') })), text };
}

/**
 * Dispatches a `paste` ClipboardEvent (bubbling, cancelable) on the element. Returns whether the page cancelled
 * it (preventDefault), i.e. took the content itself instead of the browser's default text paste.
 */
export async function paste(target: Locator, content: TransferContent): Promise<{ defaultPrevented: boolean }> {
  return target.evaluate((element, { files, text }: WireContent) => {
    const data = new DataTransfer();
    if (text !== undefined) data.setData('text/plain', text);
    for (const f of files) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    return { defaultPrevented: !element.dispatchEvent(event) };
  }, wire(content));
}

/** dragenter, dragover and drop of the files on the element, as a drag from the file manager. */
export async function drop(target: Locator, content: TransferContent): Promise<void> {
  await target.evaluate((element, { files }: WireContent) => {
    const data = new DataTransfer();
    for (const f of files) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    for (const type of ['dragenter', 'dragover', 'drop']) element.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }, wire(content));
}
