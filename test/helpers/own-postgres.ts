import { execFile } from 'node:child_process';
import { readFile, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', '..', 'scripts', 'postgres', 'postgres.sh');

/** A PostgreSQL server of one test's own, which it may restart without disturbing other tests. */
export interface OwnPostgres {
  /** The `kubevend` database on it. */
  url: string;
  /** `pg_ctl restart -m fast`, as a patch or a failover restarts a server; resolves once it is back. */
  restart(): Promise<void>;
  /**
   * Stops the server process (SIGSTOP) until the returned function is called: connections are still
   * accepted by the OS, but nothing answers them, as with a server that hangs or a host gone silent.
   */
  freeze(): Promise<() => void>;
  stop(): Promise<void>;
}

/** Starts a throwaway cluster (scripts/postgres/postgres.sh) on a free loopback port. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'kubevend-own-postgres-'));
  let thaw = () => {};
  // A frozen server would never stop: it is let go on first.
  const stop = async () => {
    thaw();
    await run('bash', [script, 'stop', dir]);
  };
  let url: string;
  try {
    const { stdout } = await run('bash', [script, 'start', dir], { env: { ...process.env, PGPORT: `${await freePort()}` } });
    url = stdout.trim().split('\n').at(-1)!.trim();
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const data = join(dir, 'data');
  return {
    url,
    stop,
    async freeze() {
      const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, 'SIGSTOP');
      thaw = () => {
        thaw = () => {};
        process.kill(pid, 'SIGCONT');
      };
      return () => thaw();
    },
    async restart() {
      // The pg_ctl beside the postgres binary that runs this cluster (the first word of its options file).
      const postgresBinary = (await readFile(join(data, 'postmaster.opts'), 'utf8')).split(' ')[0]!;
      const pgCtl = [join(dirname(postgresBinary), 'pg_ctl'), 'restart', '-D', data, '-m', 'fast', '-w', '-t', '30', '-l', join(dir, 'postgres.log')];
      // PostgreSQL refuses to run as root: as root, as the OS user the script started it as.
      await (process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', ...pgCtl]) : run(pgCtl[0]!, pgCtl.slice(1)));
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
