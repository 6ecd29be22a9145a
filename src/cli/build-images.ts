// The images a build needs on this machine's engine, made here as `archive up` makes them
// (debootstrap, then compose/compose.yaml's buildenv, the one description of it): for a build
// without an archive (archive build) and for a worker on another machine (archive worker).
import { readFile } from 'node:fs/promises';
import { architectureFinding, runMode } from '../core/doctor.js';
import { DOCKER_PLATFORMS } from '../debian/architectures.js';
import { buildenvImageName } from '../docker/buildenv.js';
import { UserError } from '../errors.js';
import { architectureFacts } from '../process/architectures.js';
import { parseCompose } from '../docker/compose-file.js';
import type { Docker } from '../docker/engine.js';
import { ensureBaseImage, ensureBuiltImage } from '../docker/images.js';
import { COMPOSE_FILE, progress } from './archive-context.js';

/**
 * Makes (or finds current) the base and buildenv images of Debian release `base` for `arch`
 * (`native`: the engine's own architecture); returns the buildenv's name. The builds' whole
 * output is appended to `logFile` when given (never a shared name in /tmp: another user could
 * plant a link or a FIFO there for root's command); a failed build says its last lines anyway.
 */
export async function ensureBuildenv(docker: Docker, base: string, arch: string, native: boolean, logFile?: string): Promise<string> {
  await ensureBaseImage(docker, base, progress, { arch, native });
  const images = parseCompose(await readFile(COMPOSE_FILE, 'utf8'), COMPOSE_FILE, {
    ARCHIVE_PROJECT: 'archive-build', ARCHIVE_ROOT: '/nonexistent', ARCHIVE_PORT: '1', ARCHIVE_UID: '0', ARCHIVE_GID: '0', ARCHIVE_API_TOKEN: '',
    ARCHIVE_BASE: base, ARCHIVE_ARCH: arch, ARCHIVE_PLATFORM: DOCKER_PLATFORMS[arch] ?? '',
  });
  const buildenv = images.services.find((s) => s.image === buildenvImageName(base, arch));
  if (!buildenv?.build) throw new Error(`${COMPOSE_FILE} has no buildenv service for ${base} on ${arch}`);
  await ensureBuiltImage(docker, buildenv.image, buildenv.build, progress, logFile);
  return buildenv.image;
}

export interface ArchitectureMode {
  arch: string;
  /** The machine's own architecture: its build environment is on the plain base image. */
  own: boolean;
  /** Run under qemu. */
  emulated: boolean;
}

/** ARCHIVE_ARCHITECTURES and ARCHIVE_EMULATED for a worker that runs these. */
export function workerArchitectureVariables(modes: ArchitectureMode[]): Record<string, string> {
  return { ARCHIVE_ARCHITECTURES: modes.map((m) => m.arch).join(','), ARCHIVE_EMULATED: modes.filter((m) => m.emulated).map((m) => m.arch).join(',') };
}

/**
 * How this machine runs each of `architectures`: natively or under qemu. One it cannot run is
 * refused with what archive doctor says of it, fix included.
 */
export async function architectureModes(architectures: string[]): Promise<ArchitectureMode[]> {
  const facts = await architectureFacts(architectures);
  return facts.map((a) => {
    const mode = runMode(a);
    if (!mode) {
      const finding = architectureFinding(a);
      throw new UserError(`${a.arch}: ${finding.detail}${finding.fix ? `\nFix: ${finding.fix}` : ''}`);
    }
    return { arch: a.arch, own: a.arch === a.hostArch, emulated: mode === 'emulated' };
  });
}
