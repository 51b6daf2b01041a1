// Compile-time check that the library's standalone public types (lib/types.ts) match the engine's (worker/api.ts):
// `npm run typecheck` fails here when one side changes without the other.
import type * as Engine from '../protocol/api.ts';
import type * as Lib from './types.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;

export type Contract = [
  Check<Same<Lib.WeightMode, Engine.WeightFormat>>,
  Check<Same<Lib.EngineErrorCode, Engine.EngineErrorCode>>,
  Check<Same<Lib.LoadProgress, Engine.LoadProgress>>,
  Check<Same<Lib.GenerateProgress, Engine.GenerateProgress>>,
  Check<Same<Lib.ExpertStats, Engine.ExpertStats>>,
  Check<Same<Lib.GenerationStats, Engine.GenerationStats>>,
];
