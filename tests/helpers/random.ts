// Seeded random inputs: the one implementation lives in scripts/lib/random.ts (the benchmark
// uses it too, and scripts never import from tests/).

export { distinctArray, randomArray, rng, toF64 } from '../../scripts/lib/random';
