/**
 * `npm run bench -- <name>`: benchmarks that print figures, each against a baseline measured in the same
 * run on the same machine. Nothing here passes or fails; timings never belong in tests.
 */
import { benchAnalysis } from './analysis.js';

const BENCHES: Record<string, () => Promise<void>> = { analysis: benchAnalysis };

const name = process.argv[2] ?? 'analysis';
const bench = BENCHES[name];
if (!bench) {
  process.stderr.write(`unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}
await bench();
