// Compile-time check that the library's standalone public types (lib/types.ts) match the engine's (protocol/api.ts):
// `npm run typecheck` fails here when one side changes without the other. Codes and formats must be the same; the
// engine's objects may carry more fields than the library's types name (they reach the caller all the same).
import type * as Engine from '../protocol/api.ts';
import type * as Lib from './types.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<A, B> = [A] extends [B] ? true : false;
type Check<T extends true> = T;

export type Contract = [
  Check<Same<Lib.WeightMode, Engine.WeightFormat>>,
  Check<Same<Lib.EngineErrorCode, Engine.EngineErrorCode>>,
  Check<Fits<Engine.LoadProgress, Lib.LoadProgress>>,
  Check<Fits<Engine.GenerateProgress, Lib.GenerateProgress>>,
  Check<Fits<Engine.ExpertStats, Lib.ExpertStats>>,
  Check<Fits<Engine.GenerationStats, Lib.GenerationStats>>,
];
