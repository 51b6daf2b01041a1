// The Web Worker entry: exposes the engine to the UI through Comlink. Nothing else lives here.
import * as Comlink from 'comlink';
import '../protocol/comlink-errors.ts';
import { Engine } from './engine.ts';
import { browserDevice } from './browser-device.ts';
import { decodeImageBlob } from './image/browser-decode.ts';

const engine = new Engine(browserDevice, undefined, (image) => decodeImageBlob(image.data, image.name));
// The page names the worker "tabscout-engine <id>[ testHooks]". Holding a Web Lock of that name for the worker's
// whole life lets the page notice at once when the worker dies (crash, out of memory, terminated): the lock is
// released and the page's request for it is granted.
const name = (self as unknown as { name?: string }).name ?? '';
engine.testHooks = name.split(' ').includes('testHooks');
if (name && 'locks' in navigator) void navigator.locks.request(name.split(' ').slice(0, 2).join(' '), () => new Promise<never>(() => undefined));
Comlink.expose(engine);
