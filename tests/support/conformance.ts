/**
 * The MCP conformance suite (@modelcontextprotocol/conformance), installed on demand into
 * .cache/conformance from tests/support/conformance/package-lock.json, the way the Temporal CLI is
 * installed into .cache/temporal-cli. It is not a devDependency: it needs Node 22 (fs.globSync), and the
 * npm packages carrying a Node 22 binary are platform-specific, with none for macOS on arm64. Kept out of
 * the project's lock file, `npm ci` stays the same on every platform.
 *
 * Node 22 is the first that works of: this process, $CONFORMANCE_NODE, `node` on PATH, the
 * node-<platform>-<arch> optional package that the same install brings where one exists.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOURCE = path.resolve('tests/support/conformance');
const DIR = path.resolve('.cache/conformance');

export interface ConformanceTool {
  node: string;
  cli: string;
}

async function nodeMajor(node: string): Promise<number> {
  try {
    const { stdout } = await run(node, ['--version']);
    return Number(/^v(\d+)\./.exec(stdout.trim())?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Install (when the lock changed or nothing is there) and locate the CLI and a Node 22 to run it. */
export async function ensureConformance(): Promise<ConformanceTool> {
  const lock = readFileSync(path.join(SOURCE, 'package-lock.json'), 'utf8');
  const installed = path.join(DIR, 'node_modules', '.package-lock.json');
  const current = existsSync(path.join(DIR, 'package-lock.json'))
    ? readFileSync(path.join(DIR, 'package-lock.json'), 'utf8')
    : '';
  if (current !== lock || !existsSync(installed)) {
    mkdirSync(DIR, { recursive: true });
    copyFileSync(path.join(SOURCE, 'package.json'), path.join(DIR, 'package.json'));
    copyFileSync(path.join(SOURCE, 'package-lock.json'), path.join(DIR, 'package-lock.json'));
    await run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
      cwd: DIR,
      timeout: 170_000,
    });
  }
  const cli = path.join(DIR, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

  const binary = process.platform === 'win32' ? 'bin/node.exe' : 'bin/node';
  const candidates = [
    process.execPath,
    process.env.CONFORMANCE_NODE,
    'node',
    path.join(DIR, 'node_modules', `node-${process.platform}-${process.arch}`, binary),
  ].filter((c): c is string => Boolean(c));
  for (const node of candidates) {
    if ((await nodeMajor(node)) >= 22) return { node, cli };
  }
  throw new Error(
    `the MCP conformance suite needs Node 22 or later and none was found (this is ${process.version}, and no ` +
      `node-${process.platform}-${process.arch} package exists for it): install Node 22, or set CONFORMANCE_NODE to one`,
  );
}
