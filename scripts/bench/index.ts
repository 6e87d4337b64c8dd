/**
 * `npm run bench -- <name> [flags]`: benchmarks print figures and ratios against a baseline measured in
 * the same run. They are not tests: nothing here passes or fails.
 */
const benches: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  upload: () => import('./upload.js'),
};

const [name, ...argv] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join(' | ')}> [flags]\n`);
  process.exit(2);
}
await (await load()).run(argv);
