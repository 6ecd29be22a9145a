// The images a build needs on this machine's engine, made here as `archive up` makes them
// (debootstrap, then compose/compose.yaml's buildenv, the one description of it): for a build
// without an archive (archive build) and for a worker on another machine (archive worker).
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildenvImageName } from '../docker/buildenv.js';
import { parseCompose } from '../docker/compose-file.js';
import type { Docker } from '../docker/engine.js';
import { ensureBaseImage, ensureBuiltImage } from '../docker/images.js';
import { COMPOSE_FILE, progress } from './archive-context.js';

/** Makes (or finds current) the base and buildenv images of Debian release `base`; returns the buildenv's name. */
export async function ensureBuildenv(docker: Docker, base: string): Promise<string> {
  await ensureBaseImage(docker, base, progress);
  const images = parseCompose(await readFile(COMPOSE_FILE, 'utf8'), COMPOSE_FILE, {
    ARCHIVE_PROJECT: 'archive-build', ARCHIVE_ROOT: '/nonexistent', ARCHIVE_PORT: '1', ARCHIVE_UID: '0', ARCHIVE_GID: '0', ARCHIVE_BASE: base, ARCHIVE_API_TOKEN: '',
  });
  const buildenv = images.services.find((s) => s.image === buildenvImageName(base));
  if (!buildenv?.build) throw new Error(`${COMPOSE_FILE} has no buildenv service for ${base}`);
  await ensureBuiltImage(docker, buildenv.image, buildenv.build, progress, join(tmpdir(), 'archive-in-a-box-image-builds.log'));
  return buildenv.image;
}
