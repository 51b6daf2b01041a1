// The Web Worker entry: exposes the engine to the UI through Comlink. Nothing else lives here.
import * as Comlink from 'comlink';
import './comlink-errors.ts';
import { Engine } from './engine.ts';
import { browserDevice } from './browser-device.ts';
import { decodeImageBlob } from './image/browser-decode.ts';

Comlink.expose(new Engine(browserDevice, undefined, (image) => decodeImageBlob(image.data, image.name)));
