import type { MirrorSpec } from '../core/config-orchestrate.js';

/** The package to install when rsync is missing, said in every message about it. */
export const rsyncMissing = 'rsync not found on PATH: install the rsync package (Debian/Ubuntu: apt-get install rsync)';

/** `-o BatchMode=yes`: a password prompt would hang an unattended run; it fails at once instead. */
export function sshOptions(spec: Pick<MirrorSpec, 'ssh'>): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10',
    ...(spec.ssh?.port !== undefined ? ['-p', String(spec.ssh.port)] : []),
    ...(spec.ssh?.identity !== undefined ? ['-i', spec.ssh.identity, '-o', 'IdentitiesOnly=yes'] : []),
  ];
}

/** POSIX shell single quotes, which rsync's `-e` parsing also honours. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Where rsync writes a directory of the destination: `path/dir/` or `host:path/dir/`. */
export function rsyncTarget(spec: Pick<MirrorSpec, 'to'>, dir: string): string {
  const base = `${spec.to.path.replace(/\/+$/, '')}/${dir}/`;
  return spec.to.kind === 'ssh' ? `${spec.to.host}:${base}` : base;
}

function common(spec: MirrorSpec): string[] {
  return [
    '-aH', '--delete',
    ...spec.exclude.map((pattern) => `--exclude=${pattern}`),
    ...(spec.to.kind === 'ssh' ? ['-e', ['ssh', ...sshOptions(spec)].map(shellQuote).join(' ')] : []),
  ];
}

/** Pure: the copy into `dir`, hard-linking files unchanged since `linkTo` (a sibling snapshot). */
export function copyArgs(spec: MirrorSpec, dir: string, linkTo: string | undefined): string[] {
  return [
    ...common(spec),
    ...(linkTo !== undefined ? [`--link-dest=../${linkTo}`] : []),
    ...(spec.bwlimitKiB !== undefined ? [`--bwlimit=${spec.bwlimitKiB}`] : []),
    `${spec.from.replace(/\/+$/, '')}/`,
    rsyncTarget(spec, dir),
  ];
}

/** Pure: the check after the copy: with checksums and nothing written, any itemized line is a difference. */
export function verifyArgs(spec: MirrorSpec, dir: string): string[] {
  return [...common(spec), '--checksum', '--dry-run', '--itemize-changes', `${spec.from.replace(/\/+$/, '')}/`, rsyncTarget(spec, dir)];
}
