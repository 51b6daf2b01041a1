// Makes EngineError survive Comlink: both sides import this module once, before wrap()/expose().
// Comlink serialises a thrown Error as {message, name, stack} only; we add the error code and rebuild an
// EngineError on the receiving side, so the UI can branch on `error.code`.
import * as Comlink from 'comlink';
import { EngineError, type EngineErrorCode } from './errors.ts';

interface SerializedThrow {
  isError: boolean;
  value: unknown;
}

interface SerializedError {
  message: string;
  name: string;
  stack?: string;
  code?: EngineErrorCode;
}

const builtin = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<{ value: unknown }, SerializedThrow> | undefined;

if (builtin && !(builtin as { engineErrors?: boolean }).engineErrors) {
  const handler: Comlink.TransferHandler<{ value: unknown }, SerializedThrow> & { engineErrors: true } = {
    engineErrors: true,
    canHandle: builtin.canHandle,
    serialize({ value }) {
      if (value instanceof Error) {
        const error: SerializedError = { message: value.message, name: value.name, stack: value.stack };
        const code = (value as Partial<EngineError>).code;
        if (typeof code === 'string') error.code = code;
        return [{ isError: true, value: error }, []];
      }
      return [{ isError: false, value }, []];
    },
    deserialize(serialized) {
      if (!serialized.isError) throw serialized.value;
      const { message, name, stack, code } = serialized.value as SerializedError;
      const error = code ? new EngineError(code, message) : Object.assign(new Error(message), { name });
      if (stack) error.stack = stack;
      throw error;
    },
  };
  // Same key: the Map keeps its position, so Comlink still checks it before any later handler.
  Comlink.transferHandlers.set('throw', handler);
}
